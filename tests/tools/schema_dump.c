/* `schema_dump DIR`: runs pf_schema_main, the body of `preflightd schema
 * DIR`, so the schema tests can run before and apart from the daemon. */
#include <stdio.h>

#include "pf_schema.h"

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: schema_dump DIR [SCHEMA]\n");
		return 2;
	}
	return pf_schema_main(argv[1], argc > 2 ? argv[2] : NULL, stdout, stderr);
}
