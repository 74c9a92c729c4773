/* interpose.c - the LD_PRELOAD front door (placeholder until the interposer lands). */
#include "glcoherent.h"
