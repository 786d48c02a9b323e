/*
 * The guest image, built from guest/ and linked into the worker.  Its
 * size is computed here, by the assembler, so C never subtracts pointers
 * to two different objects.
 */
	.section .rodata
	.balign 4096
	.globl instar_guest_image
instar_guest_image:
	.incbin "instar-guest.bin"
instar_guest_image_end:

	.balign 8
	.globl instar_guest_image_size
instar_guest_image_size:
	.quad instar_guest_image_end - instar_guest_image

	.section .note.GNU-stack, "", @progbits
