/* hotline-callback: the callback agents' service. Everything is in the skeleton and in
 * hotline_callback (callback.h). */
#include "callback.h"

int main(int argc, char **argv)
{
    return service_main(argc, argv, &callback_service);
}
