/* Placeholder entry point until the engine lands. */
#include <stdio.h>

int main(void)
{
	fputs("preflightd: not built yet\n", stderr);
	return 2;
}
