/* hclock and arena: the settable clock moves and tells listeners; the real one refuses;
 * the arena hands out aligned memory and serves protobuf-c unpacking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "arena.h"
#include "hclock.h"
#include "hl_error.h"

#include "hotline/command.pb-c.h"

#include <stdint.h>
#include <string.h>

static void moved(void *ctx)
{
    (*(int *)ctx)++;
}

static void test_settable_clock(void **state)
{
    (void)state;
    hclock_t *c;
    assert_int_equal(hclock_create(&c, true), 0);
    int calls = 0;
    assert_int_equal(hclock_listen(c, moved, &calls), 0);
    assert_int_equal(hclock_set_ms(c, 1764028800000), 0); /* 2025-11-25T00:00Z */
    int64_t now = hclock_now_ms(c);
    assert_true(now >= 1764028800000 && now < 1764028800000 + 5000);
    assert_int_equal(hclock_advance_ms(c, 86400000), 0);
    assert_true(hclock_now_ms(c) >= 1764115200000);
    assert_int_equal(calls, 2);
    char buf[32];
    hclock_format_utc(1764028800123, buf, sizeof buf);
    assert_string_equal(buf, "2025-11-25T00:00:00.123Z");
    hclock_format_utc(-1, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    hclock_destroy(&c);
    assert_null(c);
}

static void test_real_clock_refuses(void **state)
{
    (void)state;
    hclock_t *c;
    assert_int_equal(hclock_create(&c, false), 0);
    assert_int_equal(hclock_set_ms(c, 0), HL_ECONFLICT);
    assert_int_equal(hclock_advance_ms(c, 1), HL_ECONFLICT);
    uint64_t a = hclock_mono_ns(), b = hclock_mono_ns();
    assert_true(b >= a);
    hclock_destroy(&c);
}

static void test_arena(void **state)
{
    (void)state;
    arena_t *a;
    assert_int_equal(arena_create(&a), 0);
    for (int i = 0; i < 1000; i++) {
        void *p = arena_alloc(a, (size_t)i * 7 + 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
    }
    void *big = arena_calloc(a, 100000); /* larger than a block */
    assert_non_null(big);
    assert_int_equal(((char *)big)[99999], 0);
    assert_string_equal(arena_printf(a, "%s-%d", "seq", 42), "seq-42");
    /* protobuf-c unpacks into the arena; nothing to free per field. */
    Hotline__CommandReply r = HOTLINE__COMMAND_REPLY__INIT;
    r.message = "hello";
    uint8_t buf[64];
    size_t len = hotline__command_reply__pack(&r, buf);
    Hotline__CommandReply *u = hotline__command_reply__unpack(arena_allocator(a), len, buf);
    assert_non_null(u);
    assert_string_equal(u->message, "hello");
    arena_reset(a);
    assert_int_equal(arena_used(a), 0);
    arena_destroy(&a);
    assert_null(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settable_clock),
        cmocka_unit_test(test_real_clock_refuses),
        cmocka_unit_test(test_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
