/* hotline-intake: the front door. Records tickets and keeps the citizen-facing status view. */
#include "intake.h"

int main(int argc, char **argv)
{
    return service_main(argc, argv, &intake_service);
}
