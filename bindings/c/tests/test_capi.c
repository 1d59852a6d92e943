/* test_capi.c — exercises every export of miji.h and every error path.
 *
 *   usage: test_capi [THREADS [ITERATIONS [JSON_OUT]]]
 *
 * THREADS x ITERATIONS scans run on one shared scanner (default 8 x 1000). When JSON_OUT is
 * given, the JSON of several reports is written there, one per line, for the schema check in
 * test.sh. The last line printed is "N passed, M failed"; the exit status is 0 only when M is 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miji.h"

static int passed, failed;

static void check_at(int ok, const char *expr, const char *file, int line) {
    if (ok) {
        passed++;
    } else {
        failed++;
        const char *last = miji_last_error();
        fprintf(stderr, "FAIL %s:%d: %s (last error: %s)\n", file, line, expr,
                last ? last : "none");
    }
}
#define CHECK(cond) check_at(!!(cond), #cond, __FILE__, __LINE__)

static void check_rc_at(miji_result got, miji_result want, const char *expr, const char *file,
                        int line) {
    if (got == want) {
        passed++;
        /* The last error is set exactly when the call failed. */
        const char *last = miji_last_error();
        if ((want == MIJI_OK) != (last == NULL)) {
            failed++;
            fprintf(stderr, "FAIL %s:%d: %s: last error %s after %s\n", file, line, expr,
                    last ? last : "NULL", miji_result_name(want));
        } else {
            passed++;
        }
    } else {
        failed++;
        const char *last = miji_last_error();
        fprintf(stderr, "FAIL %s:%d: %s returned %s, expected %s (last error: %s)\n", file, line,
                expr, miji_result_name(got) ? miji_result_name(got) : "?",
                miji_result_name(want), last ? last : "none");
    }
}
#define CHECK_RC(expr, want) check_rc_at((expr), (want), #expr, __FILE__, __LINE__)

static int streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }
static int contains(const char *hay, const char *needle) {
    return hay && needle && strstr(hay, needle) != NULL;
}

/* A non-NULL value out-pointers must be reset from on failure. */
#define SENTINEL ((void *)0x1)

static const char MARKED[] = "机密★10年\n\n关于天穹计划的补充说明\n"
                             "aws_access_key_id = AKIAZ4KQ7WMNB2XR5T3P\n";
static const char MENTION[] = "国家秘密的密级分为绝密、机密、秘密三级。";
static const char TOP[] = "TOP SECRET//NOFORN\n\nOperation plans follow.\n";
static const char DICT_POLICY[] = "[[dictionary]]\nname = \"projects\"\nterms = [\"天穹计划\"]\n";
/* tests/policy-errors/P003-bad-regex.toml: the error points at line 5, column 11. */
static const char BAD_REGEX_POLICY[] = "[[marking]]\n"
                                       "id = \"acme.label\"\n"
                                       "scheme = \"corp\"\n"
                                       "keywords = [\"ACME\"]\n"
                                       "pattern = '^(ACME$'\n"
                                       "level = \"internal\"\n";
static const char BAD_SYNTAX_POLICY[] = "[[dictionary]\nname = \n";

static char tmpdir[PATH_MAX / 2];
static FILE *json_out;

static void tmp_path(char *buf, const char *name) {
    snprintf(buf, PATH_MAX, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
    if (len && fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint8_t rng_byte(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint8_t)(rng_state >> 32);
}

/* Writes a report's JSON to JSON_OUT and checks its shape. */
static void check_json(const miji_report *report, const char *level) {
    char *json = SENTINEL;
    CHECK_RC(miji_report_json(report, &json), MIJI_OK);
    CHECK(json != NULL && json != SENTINEL);
    if (!json || json == SENTINEL) return;
    CHECK(strncmp(json, "{\"schema\":\"miji.report/1\"", 25) == 0);
    char want[64];
    snprintf(want, sizeof want, "\"level\":\"%s\"", level);
    CHECK(contains(json, want));
    CHECK(strchr(json, '\n') == NULL);
    if (json_out) fprintf(json_out, "%s\n", json);
    miji_string_free(json);
}

static miji_report *scan_str(const miji_scanner *scanner, const char *text) {
    miji_report *report = SENTINEL;
    CHECK_RC(miji_scan(scanner, (const uint8_t *)text, strlen(text), &report), MIJI_OK);
    CHECK(report != NULL && report != SENTINEL);
    return report == SENTINEL ? NULL : report;
}

static miji_level level_of(const miji_report *report) {
    miji_level level = (miji_level)-1;
    CHECK_RC(miji_report_level(report, &level), MIJI_OK);
    return level;
}

static miji_action action_of(const miji_report *report) {
    miji_action action = (miji_action)-1;
    CHECK_RC(miji_report_action(report, &action), MIJI_OK);
    return action;
}

static size_t count_of(const miji_report *report) {
    size_t n = (size_t)-1;
    CHECK_RC(miji_report_finding_count(report, &n), MIJI_OK);
    return n;
}

static int has_rule(const miji_report *report, const char *rule) {
    size_t n = count_of(report);
    for (size_t i = 0; i < n; i++) {
        miji_finding f;
        if (miji_report_finding(report, i, &f) == MIJI_OK && streq(f.rule, rule)) return 1;
    }
    return 0;
}

static void test_static(void) {
    CHECK(streq(miji_version(), "0.1.0") || (miji_version() && miji_version()[0] != '\0'));
    CHECK(miji_abi_version() == MIJI_ABI_VERSION);
    const char *levels[] = {"public", "internal", "confidential", "secret", "top-secret"};
    for (int i = 0; i < 5; i++) CHECK(streq(miji_level_name(i), levels[i]));
    CHECK(streq(miji_level_name(MIJI_LEVEL_TOP_SECRET), "top-secret"));
    CHECK(miji_level_name(-1) == NULL && miji_level_name(5) == NULL);
    const char *actions[] = {"allow", "warn", "redact", "block"};
    for (int i = 0; i < 4; i++) CHECK(streq(miji_action_name(i), actions[i]));
    CHECK(MIJI_ACTION_ALLOW < MIJI_ACTION_WARN && MIJI_ACTION_REDACT < MIJI_ACTION_BLOCK);
    CHECK(MIJI_LEVEL_PUBLIC == 0 && MIJI_LEVEL_TOP_SECRET == 4 && MIJI_ACTION_BLOCK == 3);
    CHECK(miji_action_name(-1) == NULL && miji_action_name(4) == NULL);
    CHECK(streq(miji_result_name(MIJI_OK), "MIJI_OK"));
    CHECK(streq(miji_result_name(MIJI_ERR_IO), "MIJI_ERR_IO"));
    CHECK(streq(miji_result_name(MIJI_ERR_ARGUMENT), "MIJI_ERR_ARGUMENT"));
    CHECK(miji_result_name(-1) == NULL && miji_result_name(99) == NULL);
    CHECK(MIJI_OK == 0);
    /* Freeing NULL is a no-op. */
    miji_scanner_free(NULL);
    miji_report_free(NULL);
    miji_string_free(NULL);
    CHECK(1);
}

static void test_default_scan(const miji_scanner *scanner) {
    const char *digest = NULL;
    CHECK_RC(miji_scanner_digest(scanner, &digest), MIJI_OK);
    CHECK(digest && strncmp(digest, "sha256:", 7) == 0 && strlen(digest) == 23);

    miji_report *r = scan_str(scanner, MARKED);
    if (!r) return;
    CHECK(level_of(r) == MIJI_LEVEL_SECRET);
    CHECK(action_of(r) == MIJI_ACTION_BLOCK);
    bool complete = false;
    CHECK_RC(miji_report_complete(r, &complete), MIJI_OK);
    CHECK(complete);
    uint64_t bytes = 0;
    CHECK_RC(miji_report_bytes(r, &bytes), MIJI_OK);
    CHECK(bytes == strlen(MARKED));

    miji_marking m;
    memset(&m, 0xAB, sizeof m);
    CHECK_RC(miji_report_marking(r, &m), MIJI_OK);
    CHECK(m.present);
    CHECK(streq(m.scheme, "cn"));
    CHECK(streq(m.label, "机密"));
    CHECK(m.level == MIJI_LEVEL_SECRET);
    CHECK(streq(m.text, "机密★10年"));
    CHECK(streq(m.period, "10年"));
    CHECK(m.declassify_on == NULL && m.condition == NULL);
    CHECK(streq(m.caveats, "") && streq(m.location, "") && streq(m.role, "body"));
    CHECK(m.confidence == MIJI_CONFIDENCE_HIGH);
    CHECK(streq(m.rule, "cn.state-secret"));

    size_t n = count_of(r);
    CHECK(n >= 2);
    miji_finding f;
    CHECK_RC(miji_report_finding(r, 0, &f), MIJI_OK);
    CHECK(f.kind == MIJI_FINDING_MARKING);
    CHECK(streq(f.rule, "cn.state-secret"));
    CHECK(f.has_level && f.level == MIJI_LEVEL_SECRET);
    CHECK(streq(f.scheme, "cn") && f.category == NULL);
    CHECK(f.confidence == MIJI_CONFIDENCE_HIGH);
    CHECK(f.start == 0 && f.end == strlen("机密★10年"));
    CHECK(f.line == 1 && f.column == 1);
    CHECK(streq(f.excerpt, "机密★10年"));
    CHECK(streq(f.location, "") && streq(f.role, "body"));
    CHECK(f.fingerprint && strlen(f.fingerprint) > 0);

    int saw_key = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK_RC(miji_report_finding(r, i, &f), MIJI_OK);
        if (streq(f.rule, "secret.aws-access-key-id")) {
            saw_key = 1;
            CHECK(f.kind == MIJI_FINDING_DETECTOR);
            CHECK(!f.has_level && f.scheme == NULL && streq(f.category, "secret"));
            CHECK(f.line == 4 && f.column == 21);
            CHECK(f.end - f.start == 20);
            CHECK(memcmp(MARKED + f.start, "AKIAZ4KQ7WMNB2XR5T3P", 20) == 0);
            /* Excerpts of secrets are masked. */
            CHECK(f.excerpt && !contains(f.excerpt, "AKIAZ4KQ7WMNB2XR5T3P"));
        }
    }
    CHECK(saw_key);

    /* Index out of range. */
    memset(&f, 0, sizeof f);
    CHECK_RC(miji_report_finding(r, n, &f), MIJI_ERR_INDEX);
    CHECK(contains(miji_last_error(), "out of range"));
    CHECK(miji_last_error_code() == NULL);
    CHECK_RC(miji_report_finding(r, (size_t)-1, &f), MIJI_ERR_INDEX);
    {
        /* Freeing a handle after a failure keeps the message readable. */
        miji_report *extra = scan_str(scanner, MENTION);
        CHECK_RC(miji_report_finding(extra, 5, &f), MIJI_ERR_INDEX);
        miji_report_free(extra);
        CHECK(contains(miji_last_error(), "index 5 out of range"));
    }

    size_t errors = 99;
    CHECK_RC(miji_report_error_count(r, &errors), MIJI_OK);
    CHECK(errors == 0);
    miji_record_error e;
    CHECK_RC(miji_report_error(r, 0, &e), MIJI_ERR_INDEX);

    check_json(r, "secret");
    miji_report_free(r);

    /* A mention is not a marking. */
    r = scan_str(scanner, MENTION);
    if (r) {
        CHECK(level_of(r) == MIJI_LEVEL_PUBLIC);
        CHECK(action_of(r) == MIJI_ACTION_ALLOW);
        memset(&m, 0xAB, sizeof m);
        CHECK_RC(miji_report_marking(r, &m), MIJI_OK);
        CHECK(!m.present && m.scheme == NULL && m.text == NULL && m.period == NULL &&
              m.rule == NULL && m.level == MIJI_LEVEL_PUBLIC);
        CHECK(count_of(r) == 0);
        check_json(r, "public");
        miji_report_free(r);
    }

    r = scan_str(scanner, TOP);
    if (r) {
        CHECK(level_of(r) == MIJI_LEVEL_TOP_SECRET);
        CHECK_RC(miji_report_marking(r, &m), MIJI_OK);
        CHECK(m.present && streq(m.scheme, "us") && m.level == MIJI_LEVEL_TOP_SECRET);
        CHECK(contains(m.caveats, "NOFORN"));
        check_json(r, "top-secret");
        miji_report_free(r);
    }

    /* (NULL, 0) is the empty buffer. */
    r = SENTINEL;
    CHECK_RC(miji_scan(scanner, NULL, 0, &r), MIJI_OK);
    CHECK(r != NULL && r != SENTINEL);
    if (r && r != SENTINEL) {
        CHECK(level_of(r) == MIJI_LEVEL_PUBLIC && count_of(r) == 0);
        CHECK_RC(miji_report_bytes(r, &bytes), MIJI_OK);
        CHECK(bytes == 0);
        check_json(r, "public");
        miji_report_free(r);
    }
}

static void test_invalid_utf8(const miji_scanner *scanner) {
    /* Invalid sequences around a marking: replaced, never an error. */
    static const uint8_t bad[] = {0xff, 0xfe, '\n', 0xe6, 0x9c, 0xba, 0xe5, 0xaf, 0x86, 0xe2,
                                  0x98, 0x85, '1', '0', 0xe5, 0xb9, 0xb4, '\n', 0xc3, 0x28,
                                  0x00, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, 0xe6};
    miji_report *r = SENTINEL;
    CHECK_RC(miji_scan(scanner, bad, sizeof bad, &r), MIJI_OK);
    CHECK(r != NULL && r != SENTINEL);
    if (r && r != SENTINEL) {
        CHECK(level_of(r) == MIJI_LEVEL_SECRET);
        uint64_t bytes = 0;
        CHECK_RC(miji_report_bytes(r, &bytes), MIJI_OK);
        CHECK(bytes == sizeof bad);
        size_t n = count_of(r);
        for (size_t i = 0; i < n; i++) {
            miji_finding f;
            CHECK_RC(miji_report_finding(r, i, &f), MIJI_OK);
            CHECK(f.rule && f.excerpt && f.end >= f.start);
        }
        check_json(r, "secret");
        miji_report_free(r);
    }

    /* 64 KiB of random bytes, and every prefix length of a short random buffer. */
    size_t len = 64 * 1024;
    uint8_t *noise = malloc(len);
    for (size_t i = 0; i < len; i++) noise[i] = rng_byte();
    r = NULL;
    CHECK_RC(miji_scan(scanner, noise, len, &r), MIJI_OK);
    CHECK(r != NULL);
    if (r) {
        char *json = NULL;
        CHECK_RC(miji_report_json(r, &json), MIJI_OK);
        CHECK(json != NULL);
        if (json && json_out) fprintf(json_out, "%s\n", json);
        miji_string_free(json);
        miji_report_free(r);
    }
    int ok = 1;
    for (size_t k = 0; k < 64; k++) {
        r = NULL;
        if (miji_scan(scanner, noise + k * 7, k, &r) != MIJI_OK || !r) ok = 0;
        miji_report_free(r);
    }
    CHECK(ok);
    free(noise);

    /* A length over PTRDIFF_MAX is refused before anything is read. */
    r = SENTINEL;
    CHECK_RC(miji_scan(scanner, (const uint8_t *)MARKED, SIZE_MAX, &r), MIJI_ERR_ARGUMENT);
    CHECK(r == NULL);
}

static void test_policies(void) {
    miji_scanner *s = SENTINEL;

    /* A policy string: a dictionary on top of the default packs. */
    CHECK_RC(miji_scanner_from_string(DICT_POLICY, "dict.toml", 0, &s), MIJI_OK);
    CHECK(s != NULL && s != SENTINEL);
    if (s && s != SENTINEL) {
        miji_report *r = scan_str(s, MARKED);
        if (r) {
            CHECK(has_rule(r, "dict.projects"));
            CHECK(has_rule(r, "cn.state-secret"));
            miji_finding f;
            for (size_t i = 0; i < count_of(r); i++) {
                if (miji_report_finding(r, i, &f) == MIJI_OK && streq(f.rule, "dict.projects")) {
                    CHECK(f.kind == MIJI_FINDING_KEYWORD && streq(f.category, "projects"));
                    CHECK(f.line == 3 && f.column == 3);
                }
            }
            check_json(r, "secret");
            miji_report_free(r);
        }
        miji_scanner_free(s);
    }

    /* Without the default packs, the marking is not read; NULL name is allowed. */
    s = NULL;
    CHECK_RC(miji_scanner_from_string(DICT_POLICY, NULL, MIJI_NO_DEFAULT_POLICY, &s), MIJI_OK);
    if (s) {
        miji_report *r = scan_str(s, MARKED);
        if (r) {
            CHECK(level_of(r) == MIJI_LEVEL_PUBLIC);
            CHECK(has_rule(r, "dict.projects"));
            CHECK(!has_rule(r, "cn.state-secret"));
            miji_report_free(r);
        }
        miji_scanner_free(s);
    }

    /* Bad policies: the code and the location are exposed. */
    s = SENTINEL;
    CHECK_RC(miji_scanner_from_string(BAD_REGEX_POLICY, "acme.toml", 0, &s), MIJI_ERR_POLICY);
    CHECK(s == NULL);
    CHECK(streq(miji_last_error_code(), "P003"));
    CHECK(contains(miji_last_error(), "error[P003]"));
    CHECK(contains(miji_last_error(), "--> acme.toml:5:11"));
    /* Neither miji_last_error_code nor the free functions clear the message. */
    miji_scanner_free(NULL);
    miji_report_free(NULL);
    miji_string_free(NULL);
    CHECK(contains(miji_last_error(), "invalid regex"));
    CHECK(streq(miji_last_error_code(), "P003"));

    s = SENTINEL;
    CHECK_RC(miji_scanner_from_string(BAD_SYNTAX_POLICY, NULL, 0, &s), MIJI_ERR_POLICY);
    CHECK(s == NULL);
    CHECK(streq(miji_last_error_code(), "P001"));
    CHECK(contains(miji_last_error(), "<string>"));

    /* A later successful call clears the error. */
    miji_scanner *ok = NULL;
    CHECK_RC(miji_scanner_new(&ok), MIJI_OK);
    CHECK(miji_last_error() == NULL && miji_last_error_code() == NULL);
    miji_scanner_free(ok);

    /* Policies and names must be UTF-8. */
    s = SENTINEL;
    CHECK_RC(miji_scanner_from_string("name = \"\xff\"\n", NULL, 0, &s), MIJI_ERR_UTF8);
    CHECK(s == NULL);
    CHECK(miji_last_error_code() == NULL);
    CHECK_RC(miji_scanner_from_string(DICT_POLICY, "bad\xc3(name", 0, &s), MIJI_ERR_UTF8);
    CHECK(s == NULL);

    /* Unknown flags. */
    CHECK_RC(miji_scanner_from_string(DICT_POLICY, NULL, 0x80, &s), MIJI_ERR_ARGUMENT);
    CHECK(s == NULL);
    CHECK_RC(miji_scanner_from_file("/nonexistent", 2, &s), MIJI_ERR_ARGUMENT);

    /* Policy files. */
    char path[PATH_MAX], bad[PATH_MAX], latin1[PATH_MAX], missing[PATH_MAX];
    tmp_path(path, "policy.toml");
    tmp_path(bad, "bad.toml");
    tmp_path(latin1, "latin1.toml");
    tmp_path(missing, "missing.toml");
    write_file(path, DICT_POLICY, strlen(DICT_POLICY));
    write_file(bad, BAD_REGEX_POLICY, strlen(BAD_REGEX_POLICY));
    write_file(latin1, "# caf\xe9\n", 6);

    s = SENTINEL;
    CHECK_RC(miji_scanner_from_file(missing, 0, &s), MIJI_ERR_IO);
    CHECK(s == NULL && contains(miji_last_error(), "missing.toml"));
    CHECK_RC(miji_scanner_from_file(tmpdir, 0, &s), MIJI_ERR_IO);
    CHECK_RC(miji_scanner_from_file(latin1, 0, &s), MIJI_ERR_UTF8);
    CHECK(s == NULL);
    CHECK_RC(miji_scanner_from_file(bad, 0, &s), MIJI_ERR_POLICY);
    CHECK(s == NULL && streq(miji_last_error_code(), "P003"));
    char where[PATH_MAX + 16];
    snprintf(where, sizeof where, "--> %s:5:11", bad);
    CHECK(contains(miji_last_error(), where));

    /* Reload: a new handle from the re-read file; the old one keeps working. */
    miji_scanner *v1 = NULL, *v2 = SENTINEL, *v3 = SENTINEL, *v4 = SENTINEL;
    CHECK_RC(miji_scanner_from_file(path, 0, &v1), MIJI_OK);
    if (!v1) return;
    static const char V2[] = "[[dictionary]]\nname = \"projects\"\nterms = [\"Project Aurora\"]\n";
    write_file(path, V2, strlen(V2));
    CHECK_RC(miji_scanner_reload(v1, &v2), MIJI_OK);
    CHECK(v2 != NULL && v2 != SENTINEL && v2 != v1);
    if (v2 && v2 != SENTINEL) {
        const char *d1 = NULL, *d2 = NULL;
        CHECK_RC(miji_scanner_digest(v1, &d1), MIJI_OK);
        CHECK_RC(miji_scanner_digest(v2, &d2), MIJI_OK);
        CHECK(d1 && d2 && strcmp(d1, d2) != 0);
        static const char AURORA[] = "Notes on Project Aurora and 天穹计划";
        miji_report *r1 = scan_str(v1, AURORA), *r2 = scan_str(v2, AURORA);
        if (r1 && r2) {
            miji_finding f1, f2;
            CHECK(count_of(r1) == 1 && count_of(r2) == 1);
            CHECK_RC(miji_report_finding(r1, 0, &f1), MIJI_OK);
            CHECK_RC(miji_report_finding(r2, 0, &f2), MIJI_OK);
            CHECK(memcmp(AURORA + f1.start, "天穹计划", f1.end - f1.start) == 0);
            CHECK(memcmp(AURORA + f2.start, "Project Aurora", f2.end - f2.start) == 0);
        }
        miji_report_free(r1);
        miji_report_free(r2);
    }
    /* A broken file: the reload fails, the old handle stays. */
    write_file(path, BAD_REGEX_POLICY, strlen(BAD_REGEX_POLICY));
    CHECK_RC(miji_scanner_reload(v1, &v3), MIJI_ERR_POLICY);
    CHECK(v3 == NULL && streq(miji_last_error_code(), "P003"));
    unlink(path);
    CHECK_RC(miji_scanner_reload(v1, &v4), MIJI_ERR_IO);
    CHECK(v4 == NULL);
    miji_report *r = scan_str(v1, MARKED);
    if (r) {
        CHECK(has_rule(r, "dict.projects") && level_of(r) == MIJI_LEVEL_SECRET);
        miji_report_free(r);
    }
    /* Reloading a default or string scanner compiles the same policy again. */
    miji_scanner *d = NULL, *d2 = NULL;
    CHECK_RC(miji_scanner_new(&d), MIJI_OK);
    CHECK_RC(miji_scanner_reload(d, &d2), MIJI_OK);
    if (d && d2) {
        const char *a = NULL, *b = NULL;
        CHECK_RC(miji_scanner_digest(d, &a), MIJI_OK);
        CHECK_RC(miji_scanner_digest(d2, &b), MIJI_OK);
        CHECK(streq(a, b));
    }
    miji_scanner_free(d);
    miji_scanner_free(d2);
    miji_scanner_free(v1);
    if (v2 != SENTINEL) miji_scanner_free(v2);
}

static void test_files(const miji_scanner *scanner) {
    char marked[PATH_MAX], empty[PATH_MAX], noise[PATH_MAX], missing[PATH_MAX], zip[PATH_MAX];
    tmp_path(marked, "marked.txt");
    tmp_path(empty, "empty.txt");
    tmp_path(noise, "noise.bin");
    tmp_path(missing, "missing.txt");
    tmp_path(zip, "broken.zip");
    write_file(marked, MARKED, strlen(MARKED));
    write_file(empty, "", 0);
    uint8_t buf[16384];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = rng_byte();
    write_file(noise, buf, sizeof buf);
    /* A zip signature followed by garbage. */
    memcpy(buf, "PK\x03\x04", 4);
    write_file(zip, buf, 4096);

    miji_report *r = SENTINEL;
    CHECK_RC(miji_scan_file(scanner, marked, &r), MIJI_OK);
    CHECK(r != NULL && r != SENTINEL);
    if (r && r != SENTINEL) {
        CHECK(level_of(r) == MIJI_LEVEL_SECRET && action_of(r) == MIJI_ACTION_BLOCK);
        miji_marking m;
        CHECK_RC(miji_report_marking(r, &m), MIJI_OK);
        CHECK(m.present && streq(m.period, "10年"));
        char *json = NULL;
        CHECK_RC(miji_report_json(r, &json), MIJI_OK);
        CHECK(contains(json, "\"path\":") && contains(json, "marked.txt"));
        if (json && json_out) fprintf(json_out, "%s\n", json);
        miji_string_free(json);
        miji_report_free(r);
    }

    r = NULL;
    CHECK_RC(miji_scan_file(scanner, empty, &r), MIJI_OK);
    if (r) {
        bool complete = false;
        uint64_t bytes = 1;
        CHECK(level_of(r) == MIJI_LEVEL_PUBLIC);
        CHECK_RC(miji_report_complete(r, &complete), MIJI_OK);
        CHECK_RC(miji_report_bytes(r, &bytes), MIJI_OK);
        CHECK(complete && bytes == 0);
        check_json(r, "public");
        miji_report_free(r);
    }

    r = NULL;
    CHECK_RC(miji_scan_file(scanner, noise, &r), MIJI_OK);
    CHECK(r != NULL);
    if (r) {
        bool complete = true;
        size_t errors = 0;
        CHECK_RC(miji_report_complete(r, &complete), MIJI_OK);
        CHECK_RC(miji_report_error_count(r, &errors), MIJI_OK);
        CHECK(complete == (errors == 0));
        char *json = NULL;
        CHECK_RC(miji_report_json(r, &json), MIJI_OK);
        if (json && json_out) fprintf(json_out, "%s\n", json);
        miji_string_free(json);
        miji_report_free(r);
    }

    /* A broken archive is read, incompletely: errors on the report, not a failed call. */
    r = NULL;
    CHECK_RC(miji_scan_file(scanner, zip, &r), MIJI_OK);
    if (r) {
        bool complete = true;
        size_t errors = 0;
        CHECK_RC(miji_report_complete(r, &complete), MIJI_OK);
        CHECK_RC(miji_report_error_count(r, &errors), MIJI_OK);
        CHECK(!complete && errors >= 1);
        miji_record_error e = {0};
        CHECK_RC(miji_report_error(r, 0, &e), MIJI_OK);
        CHECK(e.kind && e.location && e.message && strlen(e.kind) > 0);
        CHECK_RC(miji_report_error(r, errors, &e), MIJI_ERR_INDEX);
        /* Nothing unread is allowed through. */
        CHECK(action_of(r) >= MIJI_ACTION_REDACT);
        char *json = NULL;
        CHECK_RC(miji_report_json(r, &json), MIJI_OK);
        CHECK(contains(json, "\"complete\":false"));
        if (json && json_out) fprintf(json_out, "%s\n", json);
        miji_string_free(json);
        miji_report_free(r);
    }

    r = SENTINEL;
    CHECK_RC(miji_scan_file(scanner, missing, &r), MIJI_ERR_IO);
    CHECK(r == NULL);
    CHECK(contains(miji_last_error(), "missing.txt"));
    r = SENTINEL;
    CHECK_RC(miji_scan_file(scanner, tmpdir, &r), MIJI_ERR_IO);
    CHECK(r == NULL);

    /* In-memory documents. */
    r = NULL;
    CHECK_RC(miji_scan_document(scanner, "note.txt", (const uint8_t *)TOP, strlen(TOP), &r),
             MIJI_OK);
    if (r) {
        CHECK(level_of(r) == MIJI_LEVEL_TOP_SECRET);
        check_json(r, "top-secret");
        miji_report_free(r);
    }
    r = NULL;
    CHECK_RC(miji_scan_document(scanner, "", (const uint8_t *)MENTION, strlen(MENTION), &r),
             MIJI_OK);
    if (r) {
        CHECK(level_of(r) == MIJI_LEVEL_PUBLIC);
        miji_report_free(r);
    }
    r = NULL;
    CHECK_RC(miji_scan_document(scanner, "broken.zip", buf, 4096, &r), MIJI_OK);
    if (r) {
        bool complete = true;
        CHECK_RC(miji_report_complete(r, &complete), MIJI_OK);
        CHECK(!complete);
        miji_report_free(r);
    }
    r = NULL;
    CHECK_RC(miji_scan_document(scanner, "empty", NULL, 0, &r), MIJI_OK);
    miji_report_free(r);
}

static void test_redact(const miji_scanner *scanner) {
    char *out = SENTINEL;
    size_t len = 0;
    CHECK_RC(miji_redact(scanner, (const uint8_t *)MARKED, strlen(MARKED), &out, &len), MIJI_OK);
    CHECK(out != NULL && out != SENTINEL);
    if (out && out != SENTINEL) {
        CHECK(len == strlen(out));
        CHECK(!contains(out, "AKIAZ4KQ7WMNB2XR5T3P"));
        CHECK(contains(out, "aws_access_key_id = "));
        CHECK(contains(out, "关于天穹计划的补充说明"));
        miji_string_free(out);
    }

    /* out_len may be NULL; text without findings comes back unchanged. */
    out = NULL;
    CHECK_RC(miji_redact(scanner, (const uint8_t *)MENTION, strlen(MENTION), &out, NULL),
             MIJI_OK);
    CHECK(streq(out, MENTION));
    miji_string_free(out);

    /* Embedded NUL bytes survive; the length says where the text ends. */
    static const uint8_t nul[] = {'a', 0, 'b', 0xff, 'c'};
    out = NULL;
    len = 0;
    CHECK_RC(miji_redact(scanner, nul, sizeof nul, &out, &len), MIJI_OK);
    CHECK(out && len == 7 && memcmp(out, "a\0b\xef\xbf\xbd" "c", 7) == 0 && out[len] == '\0');
    miji_string_free(out);

    out = NULL;
    CHECK_RC(miji_redact(scanner, NULL, 0, &out, &len), MIJI_OK);
    CHECK(out && len == 0 && out[0] == '\0');
    miji_string_free(out);

    out = SENTINEL;
    CHECK_RC(miji_redact(scanner, (const uint8_t *)MARKED, SIZE_MAX, &out, &len),
             MIJI_ERR_ARGUMENT);
    CHECK(out == NULL);
}

/* Every pointer argument of every function, NULL in turn. */
static void test_nulls(const miji_scanner *s) {
    const uint8_t *data = (const uint8_t *)MARKED;
    size_t len = strlen(MARKED);
    miji_scanner *sc = SENTINEL;
    miji_report *r = SENTINEL;

#define CHECK_NULL(expr)                                  \
    do {                                                  \
        CHECK_RC(expr, MIJI_ERR_NULL);                    \
        CHECK(contains(miji_last_error(), "is NULL"));    \
    } while (0)

    CHECK_NULL(miji_scanner_new(NULL));
    CHECK_NULL(miji_scanner_from_file(NULL, 0, &sc));
    CHECK(sc == NULL);
    CHECK_NULL(miji_scanner_from_file("/x.toml", 0, NULL));
    sc = SENTINEL;
    CHECK_NULL(miji_scanner_from_string(NULL, "n", 0, &sc));
    CHECK(sc == NULL);
    CHECK_NULL(miji_scanner_from_string(DICT_POLICY, "n", 0, NULL));
    sc = SENTINEL;
    CHECK_NULL(miji_scanner_reload(NULL, &sc));
    CHECK(sc == NULL);
    CHECK_NULL(miji_scanner_reload(s, NULL));
    const char *digest = NULL;
    CHECK_NULL(miji_scanner_digest(NULL, &digest));
    CHECK_NULL(miji_scanner_digest(s, NULL));

    CHECK_NULL(miji_scan(NULL, data, len, &r));
    CHECK(r == NULL);
    r = SENTINEL;
    CHECK_NULL(miji_scan(s, NULL, len, &r));
    CHECK(r == NULL);
    CHECK_NULL(miji_scan(s, data, len, NULL));

    r = SENTINEL;
    CHECK_NULL(miji_scan_document(NULL, "a.txt", data, len, &r));
    CHECK(r == NULL);
    CHECK_NULL(miji_scan_document(s, NULL, data, len, &r));
    CHECK_NULL(miji_scan_document(s, "a.txt", NULL, len, &r));
    CHECK_NULL(miji_scan_document(s, "a.txt", data, len, NULL));

    r = SENTINEL;
    CHECK_NULL(miji_scan_file(NULL, "/etc/hostname", &r));
    CHECK(r == NULL);
    CHECK_NULL(miji_scan_file(s, NULL, &r));
    CHECK_NULL(miji_scan_file(s, "/etc/hostname", NULL));

    char *out = SENTINEL;
    size_t out_len = 0;
    CHECK_NULL(miji_redact(NULL, data, len, &out, &out_len));
    CHECK(out == NULL);
    CHECK_NULL(miji_redact(s, NULL, len, &out, &out_len));
    CHECK_NULL(miji_redact(s, data, len, NULL, &out_len));

    miji_report *rep = scan_str(s, MARKED);
    if (!rep) return;
    miji_level level;
    miji_action action;
    bool complete;
    uint64_t bytes;
    size_t n;
    miji_marking m;
    miji_finding f;
    miji_record_error e;
    char *json = SENTINEL;
    CHECK_NULL(miji_report_level(NULL, &level));
    CHECK_NULL(miji_report_level(rep, NULL));
    CHECK_NULL(miji_report_action(NULL, &action));
    CHECK_NULL(miji_report_action(rep, NULL));
    CHECK_NULL(miji_report_complete(NULL, &complete));
    CHECK_NULL(miji_report_complete(rep, NULL));
    CHECK_NULL(miji_report_bytes(NULL, &bytes));
    CHECK_NULL(miji_report_bytes(rep, NULL));
    CHECK_NULL(miji_report_marking(NULL, &m));
    CHECK_NULL(miji_report_marking(rep, NULL));
    CHECK_NULL(miji_report_finding_count(NULL, &n));
    CHECK_NULL(miji_report_finding_count(rep, NULL));
    CHECK_NULL(miji_report_finding(NULL, 0, &f));
    CHECK_NULL(miji_report_finding(rep, 0, NULL));
    CHECK_NULL(miji_report_error_count(NULL, &n));
    CHECK_NULL(miji_report_error_count(rep, NULL));
    CHECK_NULL(miji_report_error(NULL, 0, &e));
    CHECK_NULL(miji_report_error(rep, 0, NULL));
    CHECK_NULL(miji_report_json(NULL, &json));
    CHECK(json == NULL);
    CHECK_NULL(miji_report_json(rep, NULL));
    /* The report is still fine after all that. */
    CHECK(level_of(rep) == MIJI_LEVEL_SECRET);
    miji_report_free(rep);
#undef CHECK_NULL
}

/* ---- threads: one shared scanner ---- */

struct expect {
    const char *text;
    miji_level level;
    miji_action action;
    size_t findings;
};

struct worker {
    const miji_scanner *scanner;
    const struct expect *cases;
    size_t ncases;
    int id;
    int iterations;
    long ok;
    long bad;
};

static void *worker_main(void *arg) {
    struct worker *w = arg;
    for (int i = 0; i < w->iterations; i++) {
        const struct expect *c = &w->cases[(size_t)(i + w->id) % w->ncases];
        miji_report *r = NULL;
        int good = miji_scan(w->scanner, (const uint8_t *)c->text, strlen(c->text), &r) == MIJI_OK;
        miji_level level = (miji_level)-1;
        miji_action action = (miji_action)-1;
        size_t n = (size_t)-1;
        good = good && miji_report_level(r, &level) == MIJI_OK && level == c->level;
        good = good && miji_report_action(r, &action) == MIJI_OK && action == c->action;
        good = good && miji_report_finding_count(r, &n) == MIJI_OK && n == c->findings;
        if (good && n > 0) {
            miji_finding f;
            good = miji_report_finding(r, n - 1, &f) == MIJI_OK && f.rule != NULL &&
                   f.end <= strlen(c->text);
        }
        if (good && i % 50 == 0) {
            char *json = NULL;
            good = miji_report_json(r, &json) == MIJI_OK && json != NULL &&
                   strstr(json, miji_level_name(c->level)) != NULL;
            miji_string_free(json);
            /* The last error is per thread. */
            miji_finding f;
            good = good && miji_report_finding(r, 1000000 + (size_t)w->id, &f) == MIJI_ERR_INDEX;
            char want[64];
            snprintf(want, sizeof want, "index %d ", 1000000 + w->id);
            good = good && miji_last_error() != NULL && strstr(miji_last_error(), want) != NULL;
        }
        if (good && i % 97 == 0) {
            char *out = NULL;
            size_t len = 0;
            good = miji_redact(w->scanner, (const uint8_t *)c->text, strlen(c->text), &out,
                               &len) == MIJI_OK &&
                   out != NULL && !contains(out, "AKIAZ4KQ7WMNB2XR5T3P");
            miji_string_free(out);
        }
        miji_report_free(r);
        if (good)
            w->ok++;
        else
            w->bad++;
    }
    return NULL;
}

static void test_threads(const miji_scanner *scanner, int threads, int iterations) {
    struct expect cases[] = {
        {MARKED, 0, 0, 0}, {MENTION, 0, 0, 0}, {TOP, 0, 0, 0},
        {"Strictly Confidential\n\nBoard minutes.\n", 0, 0, 0},
        {"hello world", 0, 0, 0},
    };
    size_t ncases = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < ncases; i++) {
        miji_report *r = scan_str(scanner, cases[i].text);
        if (!r) return;
        cases[i].level = level_of(r);
        cases[i].action = action_of(r);
        cases[i].findings = count_of(r);
        miji_report_free(r);
    }
    CHECK(cases[0].level == MIJI_LEVEL_SECRET && cases[2].level == MIJI_LEVEL_TOP_SECRET);

    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    struct worker *workers = calloc((size_t)threads, sizeof *workers);
    for (int t = 0; t < threads; t++) {
        workers[t] = (struct worker){scanner, cases, ncases, t, iterations, 0, 0};
        CHECK(pthread_create(&tids[t], NULL, worker_main, &workers[t]) == 0);
    }
    long ok = 0, bad = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tids[t], NULL);
        ok += workers[t].ok;
        bad += workers[t].bad;
    }
    printf("threads: %d x %d scans on one scanner: %ld ok, %ld bad\n", threads, iterations, ok,
           bad);
    CHECK(bad == 0);
    CHECK(ok == (long)threads * iterations);
    free(tids);
    free(workers);
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 8;
    int iterations = argc > 2 ? atoi(argv[2]) : 1000;
    if (threads < 1 || iterations < 1) {
        fprintf(stderr, "usage: %s [THREADS [ITERATIONS [JSON_OUT]]]\n", argv[0]);
        return 2;
    }
    if (argc > 3) {
        json_out = fopen(argv[3], "w");
        if (!json_out) {
            fprintf(stderr, "cannot write %s: %s\n", argv[3], strerror(errno));
            return 2;
        }
    }
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/miji-capi-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return 2;
    }

    test_static();
    miji_scanner *scanner = SENTINEL;
    CHECK_RC(miji_scanner_new(&scanner), MIJI_OK);
    CHECK(scanner != NULL && scanner != SENTINEL);
    if (scanner && scanner != SENTINEL) {
        test_default_scan(scanner);
        test_invalid_utf8(scanner);
        test_files(scanner);
        test_redact(scanner);
        test_nulls(scanner);
        test_threads(scanner, threads, iterations);
        miji_scanner_free(scanner);
    }
    test_policies();

    /* Clean the temporary directory. */
    const char *names[] = {"policy.toml", "bad.toml", "latin1.toml", "marked.txt",
                           "empty.txt", "noise.bin", "broken.zip"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[PATH_MAX];
        tmp_path(p, names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
    if (json_out) fclose(json_out);

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
