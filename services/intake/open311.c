/* open311: Open311 GeoReport v2 under /open311/v2/ (being written; see issue 4). */
#include "intake.h"

int intake_open311_init(intake_t *self)
{
    (void)self;
    return 0;
}

void intake_open311_fini(intake_t *self)
{
    (void)self;
}
