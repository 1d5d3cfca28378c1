/*
 * pem - the base64 body of a PEM block (RFC 7468): 64 characters a line,
 * each line ending in "\n", padding with "=" at the very end only.
 *
 * pem_lines encodes n bytes into out, which must have room for
 * PEM_LINES_MAX(n) bytes, and returns how many it wrote. Any n is one
 * whole body; to stream one body in pieces, give every piece but the
 * last a multiple of 48 bytes (one line each 48). No allocation, no
 * state: a table of every 12-bit group's two characters, made once.
 */
#ifndef CERTPIPE_PEM_H
#define CERTPIPE_PEM_H
#include <stddef.h>

#define PEM_LINES_MAX(n) (((n) + 2) / 3 * 4 + ((n) + 47) / 48)

size_t pem_lines(char *out, const unsigned char *in, size_t n);

#endif
