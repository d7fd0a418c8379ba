/* NIP-19: 32-byte keys and note ids as BIP-173 bech32 strings. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nostr.h"
#include "util.h"

/* BIP-173 limits a whole string to 90 characters. */
#define NIP19_MAX_LEN		90
#define NIP19_CHECKSUM_LEN	6
/* 256 bits in 5-bit groups, the last one padded. */
#define NIP19_DATA_GROUPS	52

static const char nip19_charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/* The BCH checksum's remainder (BIP-173 bech32_polymod). */
static uint32_t
nip19_polymod_step(uint32_t chk, unsigned v)
{
	static const uint32_t	gen[5] = {
		0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3
	};
	uint32_t		top = chk >> 25;
	int			i;

	chk = ((chk & 0x1ffffff) << 5) ^ v;
	for (i = 0; i < 5; i++)
		if ((top >> i) & 1)
			chk ^= gen[i];
	return chk;
}

/* The checksum state after the expanded hrp (lower-case). */
static uint32_t
nip19_polymod_hrp(const char *hrp, size_t n)
{
	uint32_t	chk = 1;
	size_t		i;

	for (i = 0; i < n; i++)
		chk = nip19_polymod_step(chk, (unsigned char)hrp[i] >> 5);
	chk = nip19_polymod_step(chk, 0);
	for (i = 0; i < n; i++)
		chk = nip19_polymod_step(chk, (unsigned char)hrp[i] & 31);
	return chk;
}

/* An hrp must be printable US-ASCII; upper case would make it mixed. */
static bool
nip19_hrp_ok(const char *hrp, size_t n)
{
	size_t	i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (hrp[i] < 33 || hrp[i] > 126 ||
		    (hrp[i] >= 'A' && hrp[i] <= 'Z'))
			return false;
	return true;
}

char *
nip19_encode(const char *hrp, const unsigned char data[32])
{
	unsigned char	 v[NIP19_DATA_GROUPS];
	size_t		 hn = strlen(hrp), i, nv = 0;
	uint32_t	 acc = 0, chk;
	int		 bits = 0;
	char		*out, *o;

	if (!nip19_hrp_ok(hrp, hn) ||
	    hn + 1 + NIP19_DATA_GROUPS + NIP19_CHECKSUM_LEN > NIP19_MAX_LEN)
		return NULL;
	for (i = 0; i < 32; i++) {
		acc = ((acc << 8) | data[i]) & 0xfff;
		for (bits += 8; bits >= 5; bits -= 5)
			v[nv++] = (acc >> (bits - 5)) & 31;
	}
	if (bits > 0)
		v[nv++] = (acc << (5 - bits)) & 31;

	chk = nip19_polymod_hrp(hrp, hn);
	for (i = 0; i < nv; i++)
		chk = nip19_polymod_step(chk, v[i]);
	for (i = 0; i < NIP19_CHECKSUM_LEN; i++)
		chk = nip19_polymod_step(chk, 0);
	chk ^= 1;	/* bech32; bech32m (BIP-350) would use 0x2bc830a3 */

	out = o = xmalloc(hn + 1 + nv + NIP19_CHECKSUM_LEN + 1);
	memcpy(o, hrp, hn);
	o += hn;
	*o++ = '1';
	for (i = 0; i < nv; i++)
		*o++ = nip19_charset[v[i]];
	for (i = 0; i < NIP19_CHECKSUM_LEN; i++)
		*o++ = nip19_charset[(chk >> (5 * (5 - i))) & 31];
	*o = '\0';
	return out;
}

/* A character's 5-bit value, or -1; c is already lower case. */
static int
nip19_value(char c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(nip19_charset, c)) == NULL)
		return -1;
	return (int)(p - nip19_charset);
}

int
nip19_decode(const char *bech, const char *hrp, unsigned char data[32])
{
	char		 s[NIP19_MAX_LEN + 1];
	const char	*sep;
	size_t		 n = strlen(bech), hn, i, nd = 0, ngroups;
	bool		 lower = false, upper = false;
	uint32_t	 chk, acc = 0;
	int		 v, bits = 0;

	if (n > NIP19_MAX_LEN)
		return -1;
	for (i = 0; i < n; i++) {
		if (bech[i] < 33 || bech[i] > 126)
			return -1;
		if (bech[i] >= 'a' && bech[i] <= 'z')
			lower = true;
		if (bech[i] >= 'A' && bech[i] <= 'Z') {
			upper = true;
			s[i] = (char)(bech[i] - 'A' + 'a');
		} else
			s[i] = bech[i];
	}
	s[n] = '\0';
	/* BIP-173: all lower or all upper case, never mixed. */
	if (lower && upper)
		return -1;
	if ((sep = strrchr(s, '1')) == NULL)
		return -1;
	hn = (size_t)(sep - s);
	if (hn == 0 || hn != strlen(hrp) || strncmp(s, hrp, hn) != 0)
		return -1;
	ngroups = n - hn - 1;
	if (ngroups != NIP19_DATA_GROUPS + NIP19_CHECKSUM_LEN)
		return -1;

	chk = nip19_polymod_hrp(s, hn);
	for (i = 0; i < ngroups; i++) {
		if ((v = nip19_value(sep[1 + i])) == -1)
			return -1;
		chk = nip19_polymod_step(chk, (unsigned)v);
		if (i >= NIP19_DATA_GROUPS)
			continue;
		acc = ((acc << 5) | (unsigned)v) & 0xfff;
		if ((bits += 5) >= 8) {
			bits -= 8;
			data[nd++] = (unsigned char)(acc >> bits);
		}
	}
	if (chk != 1)
		return -1;
	/* The 4 padding bits left over must be zero (BIP-173 convertbits). */
	if (nd != 32 || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return 0;
}

int
nostr_key_hex(const char *in, char out[65])
{
	unsigned char	key[32];
	size_t		i;

	if (strlen(in) == 64) {
		for (i = 0; i < 64; i++) {
			if (in[i] >= '0' && in[i] <= '9')
				out[i] = in[i];
			else if ((in[i] | 0x20) >= 'a' && (in[i] | 0x20) <= 'f')
				out[i] = (char)(in[i] | 0x20);
			else
				return -1;
		}
		out[64] = '\0';
		return 0;
	}
	if (nip19_decode(in, "npub", key) != 0)
		return -1;
	hex_encode(key, sizeof(key), out);
	return 0;
}
