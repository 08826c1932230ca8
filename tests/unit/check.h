/* A minimal unit-test harness: each CHECK prints a TAP line ("ok - …" / "not ok - …") that
 * tests/run.sh counts; check_done() returns the exit status (1 if anything failed). */
#ifndef TESTS_CHECK_H
#define TESTS_CHECK_H

#include <stdint.h>

void check_report(int ok, const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int check_done(void);

/* A state dir under $TMPDIR for tests that need files; removed at exit unless a check failed. */
const char *check_tmpdir(void);

/* Between check_expect_begin() and check_expect_end(), what the code under test writes to
 * stderr (the log lines of a failure the test provokes on purpose) is shown on stdout as
 * "# expected: ..." comments, so that a reader of the output is not alarmed by it. */
void check_expect_begin(void);
void check_expect_end(void);

#define CHECK(cond, ...) check_report(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
#define CHECK_EQ_INT(a, b, ...) \
	do { \
		long long a_ = (long long)(a), b_ = (long long)(b); \
		check_report(a_ == b_, __FILE__, __LINE__, #a " == " #b, __VA_ARGS__); \
		if (a_ != b_) \
			check_report( \
			    1, __FILE__, __LINE__, "", "  (got %lld, want %lld)", a_, b_); \
	} while (0)

#endif
