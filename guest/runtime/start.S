/*
 * The guest image's header and exception stubs.  The vmm reads the header
 * (struct instar_guest_header) from the image's first bytes, builds the
 * descriptor tables from it and enters guest_main in user mode, with rsp
 * at the top of the stack.
 */
	.section .text.start, "ax"
	.code64
	.globl _start
_start:
	.long	0x52545347		/* INSTAR_GUEST_HEADER_MAGIC */
	.long	0
	.quad	user_start
	.quad	isr_table
	.quad	kernel_stack + 16384

	.text
user_start:
	xorl	%ebp, %ebp
	call	guest_main
	ud2

/*
 * Every exception lands in guest_exception() with a frame of
 * { vector, error code, rip, cs, rflags, rsp, ss }.  Vectors that push
 * no error code get a zero so the frame has one shape.
 */
.macro ISR_NOERR n
isr\n:
	pushq	$0
	pushq	$\n
	jmp	isr_common
.endm
.macro ISR_ERR n
isr\n:
	pushq	$\n
	jmp	isr_common
.endm

	.text
ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_ERR 8
ISR_NOERR 9
ISR_ERR 10
ISR_ERR 11
ISR_ERR 12
ISR_ERR 13
ISR_ERR 14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR 17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR 21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR 29
ISR_ERR 30
ISR_NOERR 31

isr_common:
	movq	%rsp, %rdi
	/* The CPU aligned rsp to 16 before pushing 7 words; realign. */
	subq	$8, %rsp
	call	guest_exception
2:	hlt
	jmp	2b

	.section .rodata
	.balign 8
	.globl isr_table
isr_table:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad isr\n
	.endr

	.bss
	.balign	16
kernel_stack:
	.skip	16384

	.section .note.GNU-stack, "", @progbits
