/* hotline-analytics: KPIs and ticket timelines from every service's feed. */
#include "analytics.h"

int main(int argc, char **argv)
{
    return service_main(argc, argv, &analytics_service);
}
