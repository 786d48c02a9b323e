/* qemu-img check on a VMDK: vmdk_co_check(). */
#include "check_state.h"

int
ck_run_vmdk(struct ck *c)
{
	struct fmt_arena *a = c->job->arena;
	struct vmdk_geom g;
	uint64_t gsec, sectors, grains, gt, gtbytes, gd_done = 0;
	uint32_t *gd;
	uint8_t *gtbuf;
	uint64_t gtcap, gtoff = 0, gtlen = 0;

	if (ck_load_prefix(c) != 0 ||
	    vmdk_parse(&c->pio, &g, &c->info, &c->err) != 0)
		return -1;
	if (c->job->params->repair != INSTAR_CHECK_REPAIR_NONE) {
		/* qemu's vmdk_check refuses to fix: no checks at all. */
		c->r->has_checks = 0;
		return 0;
	}
	c->r->has_checks = 1;
	gsec = g.grain_size / 512;
	sectors = c->info.virtual_size / 512;
	grains = (sectors + gsec - 1) / gsec;
	gtbytes = (uint64_t)g.num_gtes * 4;
	gd = fmt_alloc(a, L1_CHUNK, 8);
	gtcap = gtbytes > L2_RUN_MAX ? gtbytes : L2_RUN_MAX;
	gtbuf = fmt_alloc(a, gtcap, 8);
	if (gd == NULL || gtbuf == NULL) {
		fmt_seterr(&c->err, "Not enough memory to check the image");
		return -1;
	}
	c->prog_total = grains / g.num_gtes + 1;
	for (gt = 0; gt * g.num_gtes < grains; gt++) {
		uint64_t l2, j;
		uint32_t gi = (uint32_t)(gt % (L1_CHUNK / 4));

		if (gt >= g.gd_entries) {
			ck_emit(c, "ERROR: could not get cluster_offset for "
			    "sector %lld", L(gt * g.num_gtes * gsec));
			c->r->corruptions++;
			return 0;
		}
		if (gi == 0) {
			uint64_t n = g.gd_entries - gt;

			if (n > L1_CHUNK / 4)
				n = L1_CHUNK / 4;
			if (ck_read(c, g.gd_off + gt * 4, gd, n * 4) != 0)
				return -1;
			gd_done = gt + n;
			ck_progress(c, n);
		}
		l2 = (uint64_t)get_le32((uint8_t *)&gd[gi]) * 512;
		if (l2 == 0)
			continue;
		if (gtlen == 0 || l2 < gtoff || l2 - gtoff > gtlen ||
		    gtbytes > gtlen - (l2 - gtoff)) {
			/* Read this table and those right after it. */
			uint64_t end = l2 + gtbytes, k;

			for (k = gt + 1; k < gd_done; k++) {
				uint64_t o = (uint64_t)get_le32((uint8_t *)
				    &gd[k % (L1_CHUNK / 4)]) * 512;

				if (o != end || end - l2 + gtbytes > gtcap)
					break;
				end += gtbytes;
			}
			gtlen = 0;
			if (ck_read(c, l2, gtbuf, end - l2) != 0)
				return -1;
			gtoff = l2;
			gtlen = end - l2;
		}
		for (j = 0; j < g.num_gtes && gt * g.num_gtes + j < grains;
		    j++) {
			uint32_t e = get_le32(gtbuf + (l2 - gtoff) + j * 4);

			if (e == 0 || (g.zero_grains && e == 1))
				continue;
			if ((uint64_t)e * 512 >= c->file_size) {
				/* qemu stops at the first one, failing. */
				ck_emit(c, "ERROR: cluster offset for sector "
				    "%lld points after EOF",
				    L((gt * g.num_gtes + j) * gsec));
				c->r->corruptions++;
				fmt_seterr(&c->err, "Invalid "
				    "argument");
				return -1;
			}
		}
	}
	return 0;
}
