/*
 * fuzz_dns - libFuzzer target for the DNS reply parser, which reads
 * whatever a resolver (or anyone spoofing one) sends. The first two
 * bytes are taken as the expected id so the fuzzer reaches past the id
 * check; the question is fixed. What parses must hold together: owner
 * names and CNAME targets are NUL-free text of bounded length, and the
 * error of a refusal is one line.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct dns_msg m;
	struct err e = {0};
	uint16_t id;
	size_t i;

	if (len < 2)
		return 0;
	id = (uint16_t)(data[0] << 8 | data[1]);
	if (dns_parse(data, len, id, "_acme-challenge.x.test", DNS_T_TXT, &m,
	    &e) == 0) {
		if (m.nrr > DNS_MAX_RR)
			__builtin_trap();
		for (i = 0; i < m.nrr; i++) {
			if (strlen(m.rr[i].owner) >= DNS_NAME_MAX)
				__builtin_trap();
			/* a target is text; escapes may make it longer
			 * than the message, never longer than a name */
			if (m.rr[i].type == DNS_T_CNAME &&
			    (strlen(m.rr[i].data.p) != m.rr[i].data.len ||
			    m.rr[i].data.len >= DNS_NAME_MAX))
				__builtin_trap();
			/* TXT data is a subset of the message's bytes */
			if (m.rr[i].type == DNS_T_TXT && m.rr[i].data.len > len)
				__builtin_trap();
		}
		dns_msg_free(&m);
	} else if (strchr(err_str(&e), '\n') != NULL)
		__builtin_trap();
	err_free(&e);
	return 0;
}
