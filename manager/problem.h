/* problem+json (RFC 9457) bodies: type, title, status, detail, instance and, for validation
 * errors, the field at fault. */
#ifndef MANAGER_PROBLEM_H
#define MANAGER_PROBLEM_H

#include <jansson.h>

/* A new problem object for status; field and instance may be NULL. */
json_t *problem_new(unsigned status, const char *detail, const char *field, const char *instance);

#endif
