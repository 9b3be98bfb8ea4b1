/* callback appeals (申诉): a unit appeals the latest rating of its ticket within the window,
 * citing the exclusion list; a supervisor upholds (AppealReviewed, then KpiEligibilityChanged
 * carrying the rating's own instant) or rejects (no eligibility change); refusals name the
 * field and write nothing; incident members' ratings are appealable like any other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "callback_fixture.h"

static const Hotline__Principal UNIT_WATER = {
    PROTOBUF_C_MESSAGE_INIT(&hotline__principal__descriptor), HOTLINE__ROLE__ROLE_UNIT,
    "water-north", "water-north desk"};
static const Hotline__Principal UNIT_OTHER = {
    PROTOBUF_C_MESSAGE_INIT(&hotline__principal__descriptor), HOTLINE__ROLE__ROLE_UNIT, "billing",
    "billing desk"};
static const Hotline__Principal SUPERVISOR = {
    PROTOBUF_C_MESSAGE_INIT(&hotline__principal__descriptor), HOTLINE__ROLE__ROLE_SUPERVISOR, "",
    "zhang (quality)"};

/* The rating's instant: Monday 30 Nov 09:00, the working day after Friday's reply. */
#define RATED_AT local_ms(2026, 11, 30, 9, 0)

static Hotline__Status file_as(fixture_t *f, const Hotline__Principal *by, const char *id,
                               const char *code, const char *statement, size_t n_urls,
                               char **urls)
{
    Hotline__FileAppeal fa = HOTLINE__FILE_APPEAL__INIT;
    fa.ticket_id = (char *)id;
    fa.reason_code = (char *)code;
    fa.statement = (char *)statement;
    fa.n_evidence_urls = n_urls;
    fa.evidence_urls = urls;
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.by = (Hotline__Principal *)by;
    cmd.body_case = HOTLINE__COMMAND__BODY_FILE_APPEAL;
    cmd.file_appeal = &fa;
    return run(f, &cmd);
}

static Hotline__Status file(fixture_t *f, const char *id)
{
    static char *urls[] = {"https://files.example.org/wo-1182/photo-1.jpg"};
    return file_as(f, &UNIT_WATER, id, "not-our-remit",
                   "the leak is inside the building, the owner's pipe", 1, urls);
}

static Hotline__Status review(fixture_t *f, const char *id, bool uphold, const char *note)
{
    Hotline__ReviewAppeal ra = HOTLINE__REVIEW_APPEAL__INIT;
    ra.ticket_id = (char *)id;
    ra.uphold = uphold;
    ra.note = (char *)note;
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.by = (Hotline__Principal *)&SUPERVISOR;
    cmd.body_case = HOTLINE__COMMAND__BODY_REVIEW_APPEAL;
    cmd.review_appeal = &ra;
    return run(f, &cmd);
}

/* A ticket replied on Friday 27 Nov, rated at Monday's callback. */
static void rated_ticket(fixture_t *f, const char *id, const char *phone, Hotline__Rating rating)
{
    received(f, id, phone, "Li", false);
    replied(f, id, 0, local_ms(2026, 11, 27, 15, 0));
    clock_at(f, RATED_AT);
    assert_int_equal(rate(f, id, rating), HOTLINE__STATUS__OK);
}

static void test_upheld_leaves_kpis(void **state)
{
    fixture_t *f = *state;
    rated_ticket(f, "T-1", "13812345678", HOTLINE__RATING__RATING_DISSATISFIED);
    uint64_t before = head(f);
    clock_at(f, local_ms(2026, 12, 1, 10, 0));
    assert_int_equal(file(f, "T-1"), HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->result_case, HOTLINE__COMMAND_REPLY__RESULT_APPEAL);
    const Hotline__Appeal *a = f->reply->appeal;
    assert_int_equal(a->state, HOTLINE__APPEAL_STATE__APPEAL_FILED);
    assert_string_equal(a->unit, "water-north");
    assert_string_equal(a->reason, "outside the unit's remit");
    assert_int_equal(a->rating, HOTLINE__RATING__RATING_DISSATISFIED);
    assert_true(a->rated_ms >= RATED_AT && a->rated_ms < RATED_AT + 5000);
    /* the end of the 3rd working day after Monday's: Thursday 3 Dec 23:59:59.999 */
    assert_int_equal(a->window_ends_ms, local_ms(2026, 12, 4, 0, 0) - 1);
    assert_string_equal(a->filed_by, "water-north desk");
    assert_int_equal(head(f), before + 1);
    Hotline__Event *ev = event_at(f, before + 1);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_APPEAL_FILED);
    assert_int_equal(ev->appeal_filed->appeal->n_evidence_urls, 1);
    hotline__event__free_unpacked(ev, NULL);
    int64_t rated_ms = a->rated_ms;

    /* Filed once: a second filing is refused while it waits. */
    expect_refusal(f, file(f, "T-1"), HOTLINE__STATUS__CONFLICT, "ticketId", "already appealed");
    clock_at(f, local_ms(2026, 12, 2, 11, 0));
    assert_int_equal(review(f, "T-1", true, "photos show the owner's pipe"), HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->appeal->state, HOTLINE__APPEAL_STATE__APPEAL_UPHELD);
    assert_string_equal(f->reply->appeal->reviewed_by, "zhang (quality)");
    assert_int_equal(head(f), before + 3);
    ev = event_at(f, before + 2);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_APPEAL_REVIEWED);
    assert_string_equal(ev->appeal_reviewed->appeal->review_note, "photos show the owner's pipe");
    hotline__event__free_unpacked(ev, NULL);
    ev = event_at(f, before + 3);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_KPI_ELIGIBILITY_CHANGED);
    const Hotline__KpiEligibilityChanged *k = ev->kpi_eligibility_changed;
    assert_false(k->eligible);
    assert_int_equal(k->rated_ms, rated_ms); /* November's period, though ruled in December */
    assert_int_equal(k->rating, HOTLINE__RATING__RATING_DISSATISFIED);
    assert_string_equal(k->unit, "water-north");
    assert_string_equal(k->reason_code, "not-our-remit");
    hotline__event__free_unpacked(ev, NULL);
    /* Ruled once. */
    expect_refusal(f, review(f, "T-1", false, "second thoughts"), HOTLINE__STATUS__CONFLICT,
                   "ticketId", "was upheld");
    expect_refusal(f, file(f, "T-1"), HOTLINE__STATUS__CONFLICT, "ticketId", "appealed once");
    assert_int_equal(head(f), before + 3);
}

static void test_rejected_keeps_rating(void **state)
{
    fixture_t *f = *state;
    rated_ticket(f, "T-2", "13812345678", HOTLINE__RATING__RATING_VERY_DISSATISFIED);
    assert_int_equal(file(f, "T-2"), HOTLINE__STATUS__OK);
    uint64_t before = head(f);
    assert_int_equal(review(f, "T-2", false, "the unit did not visit"), HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->appeal->state, HOTLINE__APPEAL_STATE__APPEAL_REJECTED);
    assert_int_equal(head(f), before + 1); /* the ruling only: the rating keeps counting */
    Hotline__Event *ev = event_at(f, before + 1);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_APPEAL_REVIEWED);
    hotline__event__free_unpacked(ev, NULL);
}

static void test_refusals_write_nothing(void **state)
{
    fixture_t *f = *state;
    rated_ticket(f, "T-3", "13812345678", HOTLINE__RATING__RATING_DISSATISFIED);
    rated_ticket(f, "T-ok", "13900000000", HOTLINE__RATING__RATING_SATISFIED);
    uint64_t before = head(f);
    static char *bad_url[] = {"ftp://files.example.org/x"};
    static char *spaced[] = {"https://files.example.org/a b.jpg"};
    static char *eleven[11];
    for (int i = 0; i < 11; i++)
        eleven[i] = "https://files.example.org/p.jpg";
    expect_refusal(f, file_as(f, &UNIT_WATER, "T-3", "we-were-busy", "x", 0, NULL),
                   HOTLINE__STATUS__INVALID, "reasonCode", "one of not-our-remit, beyond-policy");
    expect_refusal(f, file_as(f, &UNIT_WATER, "T-3", "not-our-remit", "", 0, NULL),
                   HOTLINE__STATUS__INVALID, "statement", "required");
    expect_refusal(f, file_as(f, &UNIT_WATER, "T-3", "not-our-remit", "x", 1, bad_url),
                   HOTLINE__STATUS__INVALID, "evidenceUrls[0]", "http(s) link");
    expect_refusal(f, file_as(f, &UNIT_WATER, "T-3", "not-our-remit", "x", 1, spaced),
                   HOTLINE__STATUS__INVALID, "evidenceUrls[0]", "no spaces");
    expect_refusal(f, file_as(f, &UNIT_WATER, "T-3", "not-our-remit", "x", 11, eleven),
                   HOTLINE__STATUS__INVALID, "evidenceUrls", "at most 10");
    expect_refusal(f, file_as(f, &UNIT_WATER, "", "not-our-remit", "x", 0, NULL),
                   HOTLINE__STATUS__INVALID, "ticketId", "required");
    expect_refusal(f, file_as(f, &UNIT_OTHER, "T-3", "not-our-remit", "x", 0, NULL),
                   HOTLINE__STATUS__FORBIDDEN, "ticketId", "another unit's work");
    expect_refusal(f, file(f, "T-none"), HOTLINE__STATUS__NOT_FOUND, "ticketId",
                   "no callback rating to appeal");
    expect_refusal(f, file(f, "T-ok"), HOTLINE__STATUS__CONFLICT, "ticketId", "nothing to appeal");
    expect_refusal(f, review(f, "T-3", true, "fine"), HOTLINE__STATUS__NOT_FOUND, "ticketId",
                   "has no appeal");
    expect_refusal(f, review(f, "T-3", true, ""), HOTLINE__STATUS__INVALID, "note", "required");
    /* The window: until the end of Thursday 3 Dec; a moment later it has closed. */
    clock_at(f, local_ms(2026, 12, 4, 0, 0));
    expect_refusal(f, file(f, "T-3"), HOTLINE__STATUS__CONFLICT, "ticketId",
                   "appeal window (3 working days) closed at 2026-12-03 23:59");
    assert_int_equal(head(f), before);
    clock_at(f, local_ms(2026, 12, 3, 23, 59));
    assert_int_equal(file(f, "T-3"), HOTLINE__STATUS__OK);
}

/* One call rates a caller's two tickets of an incident: the second ticket's rating (given
 * through the first's call) is appealable on its own. */
static void test_incident_member_appealable(void **state)
{
    fixture_t *f = *state;
    received(f, "T-a", "13812345678", "Li", false);
    received(f, "T-b", "13812345678", "Li", false);
    replied_in(f, "T-a", 0, local_ms(2026, 11, 27, 15, 0), "INC-9");
    replied_in(f, "T-b", 0, local_ms(2026, 11, 27, 15, 0), "INC-9");
    clock_at(f, RATED_AT);
    assert_int_equal(rate(f, "T-a", HOTLINE__RATING__RATING_DISSATISFIED), HOTLINE__STATUS__OK);
    assert_int_equal(file(f, "T-b"), HOTLINE__STATUS__OK);
    assert_int_equal(f->reply->appeal->rating, HOTLINE__RATING__RATING_DISSATISFIED);
    assert_int_equal(file(f, "T-a"), HOTLINE__STATUS__OK);
}

static void test_reason_list_checked(void **state)
{
    (void)state;
    char err[256];
    Hotline__AppealReason a = HOTLINE__APPEAL_REASON__INIT, b = HOTLINE__APPEAL_REASON__INIT;
    a.code = "not-our-remit";
    a.label = "outside the remit";
    b.code = "not-our-remit";
    b.label = "again";
    const Hotline__AppealReason *list[] = {&a, &b};
    assert_int_equal(callback_appeal_check_reasons(list, 0, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "at least one"));
    assert_int_equal(callback_appeal_check_reasons(list, 1, err, sizeof err), 0);
    assert_int_equal(callback_appeal_check_reasons(list, 2, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "appealReasons[1].code: not-our-remit is listed twice"));
    b.code = "Not Ours";
    assert_int_equal(callback_appeal_check_reasons(list, 2, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "appealReasons[1].code"));
    b.code = "other";
    b.label = "";
    assert_int_equal(callback_appeal_check_reasons(list, 2, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "appealReasons[1].label"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_upheld_leaves_kpis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_keeps_rating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_write_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incident_member_appealable, setup, teardown),
        cmocka_unit_test(test_reason_list_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
