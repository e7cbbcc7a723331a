/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every size limit of mamori in one place (curl's "toobig"). Input over a limit
 * is refused with MM_ELIMIT, never truncated silently.
 */
#ifndef MM_COMMON_LIMITS_H
#define MM_COMMON_LIMITS_H

/* One HL7 message file, raw or decoded. Real SS-MIX2 files are 1-8 KB; 16 MiB is generous. */
#define MM_LIMIT_HL7_MESSAGE (16u * 1024u * 1024u)
/* Segments in one HL7 message. */
#define MM_LIMIT_HL7_SEGMENTS 65536u
/* A path, in bytes. */
#define MM_LIMIT_PATH 4096u
/* One file or folder name, in bytes. */
#define MM_LIMIT_NAME 255u
/* A patient ID (INDEX DB PatientID is VARCHAR(15); we allow some room). */
#define MM_LIMIT_PATIENT_ID 64u
/* A JSON document written by mamori (truth files, --json output). */
#define MM_LIMIT_JSON (1024u * 1024u * 1024u)
/* One audit record's body (docs/format.md, "Audit log"); events are a few hundred bytes. */
#define MM_LIMIT_AUDIT_RECORD (64u * 1024u)
/* A whole audit log read into memory (show, verify, export): millions of records. */
#define MM_LIMIT_AUDIT_LOG (1024u * 1024u * 1024u)

#endif
