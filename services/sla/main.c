/* hotline-sla: the deadline watcher. Starts sign-for and reply clocks per dispatch, fires
 * yellow warnings and red breaches. */
#include "sla.h"

int main(int argc, char **argv)
{
    return service_main(argc, argv, &sla_service);
}
