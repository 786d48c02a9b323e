/*
 * A guest image linked into a program: the real guest into the worker,
 * the hostile test guest into tests/test_vmm_guest (GUEST_IMAGE_FILE says
 * which).  Its size is computed here, by the assembler, so C never
 * subtracts pointers to two different objects.
 */
	.section .rodata
	.balign 4096
	.globl instar_guest_image
instar_guest_image:
	.incbin GUEST_IMAGE_FILE
instar_guest_image_end:

	.balign 8
	.globl instar_guest_image_size
instar_guest_image_size:
	.quad instar_guest_image_end - instar_guest_image

	.section .note.GNU-stack, "", @progbits
