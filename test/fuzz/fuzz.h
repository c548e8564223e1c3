/*-------------------------------------------------------------------------
 *
 * fuzz.h
 *	  Helpers shared by the libFuzzer targets in test/fuzz.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdio.h>
#include <stdlib.h>

/* Abort with the failed condition, so libFuzzer saves the input. */
#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "%s:%d: check failed: %s\n", \
					__FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

#endif							/* FUZZ_H */
