/* Placeholder main: replaced by the webhook issue. */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("snapshot-webhook %s\n", SC_VERSION);
        return 0;
    }
    return 0;
}
