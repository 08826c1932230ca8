/* Small checks on user-supplied text shared by every resource of the API. */
#ifndef LIB_TEXT_H
#define LIB_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* The bytes a name of n characters may take in UTF-8 (a buffer holds one more, the NUL). */
#define TEXT_NAME_BYTES(n) ((n)*4)

/* Who did something, as audit events and histories record it: an admin token's name (64
 * characters) or a program's own words ("agent:12 lost", "sweeper"). */
#define TEXT_ACTOR_MAX (TEXT_NAME_BYTES(64) + 32)

/* A display name: valid UTF-8 of 1..max characters (code points; 0..max when empty_ok),
 * without control characters (C0, DEL, C1), line or paragraph separators, or the invisible
 * characters that reorder text (bidirectional controls: U+061C, U+200E, U+200F, U+202A..U+202E,
 * U+2066..U+2069), which would make a name display as another. */
int text_name_valid(const char *s, size_t max, int empty_ok);

/* The same rules for a line of text whose length is bounded in bytes (reasons kept in
 * fixed-size records and sent on the wire). */
int text_line_valid(const char *s, size_t max_bytes, int empty_ok);

/* Decode the UTF-8 sequence at s (strictly: no overlong forms, no surrogates, nothing past
 * U+10FFFF) into *cp; its length (1..4), or 0 when it is not valid. Stops at a NUL (an
 * incomplete sequence before it is not valid). */
size_t text_utf8_next(const unsigned char *s, uint32_t *cp);

/* The index of s in names[0..n), or -1: the parser of every enum that has a text form. */
int text_lookup(const char *const *names, int n, const char *s);

/* Write the reason of a failure, printf-style, into buf (len bytes, cut to fit) and return -1:
 * how a parser that explains itself gives up. */
int text_fail(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
