/*
 * The memory a job is lent (struct fmt_arena): the format code takes from
 * the bottom, a dry run's shadow devices from the top, and neither end
 * ever hands out a byte outside [base, base + size).
 */
#include "format.h"

size_t
fmt_arena_left(const struct fmt_arena *a)
{
	if (a->used > a->size || a->top > a->size - a->used)
		return 0;
	return a->size - a->used - a->top;
}

void *
fmt_alloc(struct fmt_arena *a, size_t size, size_t align)
{
	uintptr_t start = (uintptr_t)a->base + a->used;
	uintptr_t p;
	size_t pad, left = fmt_arena_left(a);

	if (align == 0 || (align & (align - 1)) != 0)
		return NULL;
	p = (start + align - 1) & ~(uintptr_t)(align - 1);
	pad = (size_t)(p - start);
	if (p < start || pad > left || size > left - pad)
		return NULL;
	a->used += pad + size;
	return (void *)p;
}

void *
fmt_alloc_top(struct fmt_arena *a, size_t size, size_t align)
{
	uintptr_t end, p;
	size_t left = fmt_arena_left(a), taken;

	if (align == 0 || (align & (align - 1)) != 0 || size > left)
		return NULL;
	end = (uintptr_t)a->base + a->size - a->top;
	p = (end - size) & ~(uintptr_t)(align - 1);
	taken = (size_t)(end - p);
	if (taken > left)
		return NULL;
	a->top += taken;
	return (void *)p;
}
