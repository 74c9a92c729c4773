/* libnext_b.so: the next definition of which(). */
int which(void) { return 2; }
