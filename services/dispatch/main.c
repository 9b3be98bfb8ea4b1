/* hotline-dispatch: routes tickets to units and runs their sign / reply / rework cycle. */
#include "dispatch.h"

int main(int argc, char **argv)
{
    return service_main(argc, argv, &dispatch_service);
}
