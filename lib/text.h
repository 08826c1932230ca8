/* Small checks on user-supplied text shared by every resource of the API. */
#ifndef LIB_TEXT_H
#define LIB_TEXT_H

#include <stddef.h>

/* A display name: 1..max bytes (0..max when empty_ok) without control characters. */
int text_name_valid(const char *s, size_t max, int empty_ok);

/* The index of s in names[0..n), or -1: the parser of every enum that has a text form. */
int text_lookup(const char *const *names, int n, const char *s);

#endif
