/* The hostile test guest, linked into tests/test_vmm_guest. */
	.section .rodata
	.balign 4096
	.globl instar_guest_image
instar_guest_image:
	.incbin "hostile-guest.bin"
instar_guest_image_end:

	.balign 8
	.globl instar_guest_image_size
instar_guest_image_size:
	.quad instar_guest_image_end - instar_guest_image

	.section .note.GNU-stack, "", @progbits
