/* compat32_thunk.S - call i386 code in compatibility mode from a 64-bit Linux process.
 *
 * Test support and demo code (libcompat32.so, next to the demos); it is not part of the shipped
 * glcoherent libraries.
 *
 * An x86-64 Linux kernel keeps a 32-bit user code segment in its GDT (selector 0x23,
 * __USER32_CS) beside the 64-bit one (0x33, __USER_CS) and the flat data segment (0x2b,
 * __USER_DS). A far transfer to 0x23 switches the CPU to compatibility mode: 32-bit code, 32-bit
 * pointers, the same page tables. That is how Wine's WoW64 mode runs 32-bit Windows programs in a
 * 64-bit process, and what gives the project's "below 4 GiB" its meaning: a 32-bit program can
 * only hold a pointer below 4 GiB.
 *
 * Everything between compat32_blob_start and compat32_blob_end is position-independent and is
 * copied by compat32.c into one mapping below 2 GiB (MAP_32BIT): the parts that run in
 * compatibility mode (tramp32, the c32_* functions) must have 32-bit addresses, and so must
 * landing64, which is reached by a 32-bit far return. The same mapping holds the 32-bit stack.
 *
 * How a call goes (compat32_enter; uint32_t (uint32_t fn, const uint32_t *args, uint32_t nargs,
 * uint32_t stack_top), System V AMD64 ABI, reached with an ordinary near call):
 *
 *   1. push the callee-saved registers (rbx, rbp, r12-r15) and DS/ES on the 64-bit stack;
 *   2. build a frame at the top of the low stack:
 *        top-8  .. top      the 64-bit rsp to come back to
 *        top-16 .. top-8    far pointer for the way back: EIP of landing64, CS 0x33
 *        top-80 .. top-16   16 cdecl argument slots (nargs <= 16 are copied; esp 16-aligned)
 *        top-96 .. top-80   RIP of tramp32, CS 0x23 (popped by lretq)
 *   3. rsp = top-96; lretq: the CPU is now in compatibility mode at tramp32, esp = top-80;
 *   4. tramp32 loads DS and ES with 0x2b (64-bit processes run with null DS/ES, which are fine in
 *      64-bit mode but fault on the first data access in compatibility mode) and calls fn:
 *      cdecl, arguments on the stack, result in eax, ebx/esi/edi/ebp preserved by the callee;
 *   5. add $64, %esp (cdecl: the caller removes the arguments); lret pops EIP/CS of landing64:
 *      back in 64-bit mode with esp = top-8;
 *   6. landing64 zero-extends esp (the upper halves of 64-bit registers are undefined after a
 *      trip through compatibility mode), reloads the saved rsp, restores ES/DS and the
 *      callee-saved registers and returns eax zero-extended.
 *
 * Signals: a signal that arrives in compatibility mode (the mprotect tracker's SIGSEGV on the
 * first write to a protected page, for one) is delivered to the process's 64-bit handler: the
 * kernel switches CS to 0x33, puts the 64-bit signal frame on the alternate signal stack, or on the
 * current (low) stack, which is why that stack is generous; rt_sigreturn restores CS 0x23 and the
 * faulting 32-bit instruction is restarted.
 *
 * Not reentrant: one call at a time per stack (compat32.c serializes calls).
 */

#define USER32_CS 0x23
#define USER_DS   0x2b
#define USER_CS   0x33

        .section .note.GNU-stack, "", @progbits

        .section .rodata.compat32, "a", @progbits
        .balign 64
        .globl compat32_blob_start, compat32_blob_end
        .hidden compat32_blob_start, compat32_blob_end

compat32_blob_start:

/* ---- 64-bit side: enter compatibility mode ---------------------------------------------- */
        .code64
        .globl compat32_enter
        .hidden compat32_enter
compat32_enter:                         /* edi = fn, rsi = args, edx = nargs, ecx = stack top */
        pushq   %rbx
        pushq   %rbp
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movl    %ds, %eax
        pushq   %rax
        movl    %es, %eax
        pushq   %rax

        movl    %ecx, %ecx              /* rcx = stack top, zero-extended */
        movq    %rsp, -8(%rcx)          /* where landing64 finds the 64-bit stack again */
        leaq    landing64(%rip), %rax
        movl    %eax, -16(%rcx)         /* far pointer of the way back: EIP ... */
        movl    $USER_CS, -12(%rcx)     /* ... and CS */

        cmpl    $16, %edx               /* copy at most 16 argument slots */
        jbe     1f
        movl    $16, %edx
1:      xorl    %eax, %eax
2:      cmpl    %edx, %eax
        jae     3f
        movl    (%rsi,%rax,4), %r8d
        movl    %r8d, -80(%rcx,%rax,4)
        incl    %eax
        jmp     2b

3:      leaq    -96(%rcx), %rsp         /* from here on the stack is the low one */
        leaq    tramp32(%rip), %rax
        movq    %rax, (%rsp)            /* RIP ... */
        movq    $USER32_CS, 8(%rsp)     /* ... and CS for lretq */
        lretq                           /* -> compatibility mode, esp = top-80 */

/* ---- 32-bit side: call fn (in edi) with cdecl ------------------------------------------- */
        .code32
tramp32:
        movl    $USER_DS, %eax
        movl    %eax, %ds
        movl    %eax, %es
        call    *%edi                   /* result in eax */
        addl    $64, %esp               /* drop the argument slots: esp = top-16 */
        lret                            /* pops EIP of landing64 and CS 0x33 */

/* ---- back in 64-bit mode ---------------------------------------------------------------- */
        .code64
landing64:
        movl    %esp, %esp              /* esp = top-8: zero-extend into rsp */
        movq    (%rsp), %rsp            /* the saved 64-bit stack pointer */
        popq    %rcx
        movl    %ecx, %es
        popq    %rcx
        movl    %ecx, %ds
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbp
        popq    %rbx
        movl    %eax, %eax              /* uint32_t result */
        ret

/* ---- i386 functions (cdecl; position-independent: no absolute addresses) -------------------
 * Each is reached through compat32_call() with its address in the low copy. */
        .code32

/* uint32_t c32_echo(uint32_t x): returns its argument: the 32-bit code's view of a value. */
        .globl c32_echo
        .hidden c32_echo
c32_echo:
        movl    4(%esp), %eax
        ret

/* uint32_t c32_fill(uint32_t *dst, uint32_t count, uint32_t stride, uint32_t value):
 * dst[i * stride] = value + i for i < count (stride in 32-bit words); returns count. */
        .globl c32_fill
        .hidden c32_fill
c32_fill:
        pushl   %edi
        movl    8(%esp), %edi           /* dst */
        movl    12(%esp), %ecx          /* count */
        movl    16(%esp), %edx          /* stride */
        shll    $2, %edx                /* ... in bytes */
        movl    20(%esp), %eax          /* value */
        testl   %ecx, %ecx
        jz      2f
1:      movl    %eax, (%edi)
        incl    %eax
        addl    %edx, %edi
        decl    %ecx
        jnz     1b
2:      movl    12(%esp), %eax
        popl    %edi
        ret

/* uint32_t c32_verify(const uint32_t *src, uint32_t count, uint32_t stride, uint32_t value):
 * how many i < count have src[i * stride] != value + i (0: all as expected). */
        .globl c32_verify
        .hidden c32_verify
c32_verify:
        pushl   %esi
        pushl   %ebx
        movl    12(%esp), %esi          /* src */
        movl    16(%esp), %ecx          /* count */
        movl    20(%esp), %edx          /* stride */
        shll    $2, %edx
        movl    24(%esp), %ebx          /* expected value of src[0] */
        xorl    %eax, %eax              /* mismatches */
        testl   %ecx, %ecx
        jz      3f
1:      cmpl    %ebx, (%esi)
        je      2f
        incl    %eax
2:      incl    %ebx
        addl    %edx, %esi
        decl    %ecx
        jnz     1b
3:      popl    %ebx
        popl    %esi
        ret

/* uint32_t c32_scramble(void): loads junk into every register a 32-bit function can reach,
 * restoring only what cdecl asks it to (ebx, esi, edi, ebp): the thunk must still give the
 * 64-bit caller back its full callee-saved registers. Returns 0x32323232. */
        .globl c32_scramble
        .hidden c32_scramble
c32_scramble:
        pushl   %ebp
        pushl   %ebx
        pushl   %esi
        pushl   %edi
        movl    $0xdead0001, %ebx
        movl    $0xdead0002, %esi
        movl    $0xdead0003, %edi
        movl    $0xdead0004, %ebp
        movl    $0xdead0005, %ecx
        movl    $0xdead0006, %edx
        popl    %edi
        popl    %esi
        popl    %ebx
        popl    %ebp
        movl    $0x32323232, %eax
        ret

/* uint32_t c32_particles(struct vertex *dst, const struct particle *src, uint32_t n,
 *                        uint32_t frame, float sx, float ox, float sy, float oy)
 * The wow64 demo's per-frame vertex update. For each particle {int32 px, py; float speed}
 * write the vertex {float x = px * sx + ox, y = py * sy + oy; float speed; uint32 frame}
 * (16 bytes) through the 32-bit pointer dst. Returns n. */
        .globl c32_particles
        .hidden c32_particles
c32_particles:
        pushl   %esi
        pushl   %edi
        movl    12(%esp), %edi          /* dst: vertices */
        movl    16(%esp), %esi          /* src: particles */
        movl    20(%esp), %ecx          /* n */
        movl    24(%esp), %edx          /* frame id */
        movss   28(%esp), %xmm2         /* sx */
        movss   32(%esp), %xmm3         /* ox */
        movss   36(%esp), %xmm4         /* sy */
        movss   40(%esp), %xmm5         /* oy */
        testl   %ecx, %ecx
        jz      2f
1:      cvtsi2ssl 0(%esi), %xmm0
        mulss   %xmm2, %xmm0
        addss   %xmm3, %xmm0
        movss   %xmm0, 0(%edi)          /* x */
        cvtsi2ssl 4(%esi), %xmm1
        mulss   %xmm4, %xmm1
        addss   %xmm5, %xmm1
        movss   %xmm1, 4(%edi)          /* y */
        movl    8(%esi), %eax
        movl    %eax, 8(%edi)           /* speed */
        movl    %edx, 12(%edi)          /* frame id */
        addl    $12, %esi
        addl    $16, %edi
        decl    %ecx
        jnz     1b
2:      movl    20(%esp), %eax
        popl    %edi
        popl    %esi
        ret

        .balign 16
compat32_blob_end:

/* ---- ordinary 64-bit helpers (run from the library where it is loaded) ------------------- */
        .code64
        .text

/* uint32_t compat32_lar(uint32_t selector): the access rights of a segment selector (bits 8-23
 * of the descriptor's high word, as LAR reports them), or 0 when the selector is not usable
 * from user mode. Lets compat32.c check for the 32-bit code segment without faulting. */
        .globl compat32_lar
        .hidden compat32_lar
        .type compat32_lar, @function
compat32_lar:
        xorl    %eax, %eax
        larl    %edi, %eax
        jz      1f
        xorl    %eax, %eax
1:      ret
        .size compat32_lar, .-compat32_lar

/* uint32_t compat32_regs_selftest(void *enter, uint32_t fn, uint32_t stack_top)
 * Loads known 64-bit patterns into rbx, rbp and r12-r15, calls enter(fn, NULL, 0, stack_top)
 * and returns a bit mask of the registers that did not survive (0: all preserved). */
        .globl compat32_regs_selftest
        .hidden compat32_regs_selftest
        .type compat32_regs_selftest, @function
compat32_regs_selftest:
        pushq   %rbx
        pushq   %rbp
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp                /* 16-byte alignment for the call */
        movq    %rdi, %rax
        movl    %esi, %edi              /* fn */
        xorl    %esi, %esi              /* args = NULL */
        movl    %edx, %ecx              /* stack top */
        xorl    %edx, %edx              /* nargs = 0 */
        movabsq $0x1111222233334444, %rbx
        movabsq $0x5555666677778888, %rbp
        movabsq $0x99990000aaaabbbb, %r12
        movabsq $0xccccddddeeeeffff, %r13
        movabsq $0x0123456789abcdef, %r14
        movabsq $0xfedcba9876543210, %r15
        call    *%rax
        xorl    %eax, %eax
        movabsq $0x1111222233334444, %rcx
        cmpq    %rcx, %rbx
        je      1f
        orl     $1, %eax
1:      movabsq $0x5555666677778888, %rcx
        cmpq    %rcx, %rbp
        je      2f
        orl     $2, %eax
2:      movabsq $0x99990000aaaabbbb, %rcx
        cmpq    %rcx, %r12
        je      3f
        orl     $4, %eax
3:      movabsq $0xccccddddeeeeffff, %rcx
        cmpq    %rcx, %r13
        je      4f
        orl     $8, %eax
4:      movabsq $0x0123456789abcdef, %rcx
        cmpq    %rcx, %r14
        je      5f
        orl     $16, %eax
5:      movabsq $0xfedcba9876543210, %rcx
        cmpq    %rcx, %r15
        je      6f
        orl     $32, %eax
6:      addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbp
        popq    %rbx
        ret
        .size compat32_regs_selftest, .-compat32_regs_selftest
