/* scan.c — scan one file with miji and print its report as JSON (one line).
 *
 *   usage: scan FILE [POLICY.toml]
 *
 * Build against the static library (see README.md):
 *   cc examples/scan.c -Iinclude ../../target/release/libmiji_c.a -lpthread -ldl -lm -o scan
 *
 * Exit status: 0 scanned (whatever the level), 1 the policy's action is "block",
 * 2 usage or policy error, 3 the file could not be read or not completely.
 */
#include <stdio.h>
#include <stdlib.h>

#include "miji.h"

static int fail(const char *what, miji_result rc) {
    const char *message = miji_last_error();
    fprintf(stderr, "scan: %s: %s (%s)\n", what, message ? message : "unknown error",
            miji_result_name(rc));
    return rc == MIJI_ERR_IO ? 3 : 2;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s FILE [POLICY.toml]\n", argv[0]);
        return 2;
    }
    if (miji_abi_version() != MIJI_ABI_VERSION) {
        fprintf(stderr, "scan: libmiji ABI %u, header ABI %u\n", miji_abi_version(),
                MIJI_ABI_VERSION);
        return 2;
    }

    miji_scanner *scanner = NULL;
    miji_result rc = argc == 3 ? miji_scanner_from_file(argv[2], 0, &scanner)
                               : miji_scanner_new(&scanner);
    if (rc != MIJI_OK) {
        return fail(argc == 3 ? argv[2] : "default policy", rc);
    }

    miji_report *report = NULL;
    rc = miji_scan_file(scanner, argv[1], &report);
    if (rc != MIJI_OK) {
        int status = fail(argv[1], rc);
        miji_scanner_free(scanner);
        return status;
    }

    char *json = NULL;
    miji_action action = MIJI_ACTION_ALLOW;
    bool complete = false;
    if ((rc = miji_report_json(report, &json)) != MIJI_OK ||
        (rc = miji_report_action(report, &action)) != MIJI_OK ||
        (rc = miji_report_complete(report, &complete)) != MIJI_OK) {
        int status = fail("report", rc);
        miji_report_free(report);
        miji_scanner_free(scanner);
        return status;
    }
    puts(json);

    miji_string_free(json);
    miji_report_free(report);
    miji_scanner_free(scanner);
    return action == MIJI_ACTION_BLOCK ? 1 : complete ? 0 : 3;
}
