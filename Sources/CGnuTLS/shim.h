#ifndef PROGRESS_EXPORTER_CGNUTLS_SHIM_H
#define PROGRESS_EXPORTER_CGNUTLS_SHIM_H
#include <stddef.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* GnuTLS calls for the web config (Debian: libgnutls28-dev), the same library libmicrohttpd
   serves TLS with. Sessions are passed as `void *` (MHD hands them out that way). */

/* 0 when the PEM certificate chain and PEM private key load together and match; else a GnuTLS
   error code (gnutls_strerror names it). Nothing is kept. */
static inline int pe_tls_check_key_pair(const char *cert_pem, size_t cert_length, const char *key_pem, size_t key_length)
{
    gnutls_certificate_credentials_t credentials;
    int result = gnutls_certificate_allocate_credentials(&credentials);
    if (result < 0) return result;
    gnutls_datum_t cert = { (unsigned char *)cert_pem, (unsigned int)cert_length };
    gnutls_datum_t key = { (unsigned char *)key_pem, (unsigned int)key_length };
    result = gnutls_certificate_set_x509_key_mem2(credentials, &cert, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_certificate_free_credentials(credentials);
    return result < 0 ? result : 0;
}

/* How many certificates a PEM bundle of CA certificates holds (0 for none), or a GnuTLS error code. */
static inline int pe_tls_count_trusted(const char *ca_pem, size_t ca_length)
{
    gnutls_certificate_credentials_t credentials;
    int result = gnutls_certificate_allocate_credentials(&credentials);
    if (result < 0) return result;
    gnutls_datum_t ca = { (unsigned char *)ca_pem, (unsigned int)ca_length };
    result = gnutls_certificate_set_x509_trust_mem(credentials, &ca, GNUTLS_X509_FMT_PEM);
    gnutls_certificate_free_credentials(credentials);
    return result;
}

static inline const char *pe_tls_error_text(int code)
{
    return gnutls_strerror(code);
}

/* The peer certificate of a TLS session: 0 present (and, when `verify`, valid against the
   server's trusted CAs for TLS client use); 1 none sent; 2 sent but not valid (the reasons in
   `*status`); a negative GnuTLS error code when verification itself failed; -1000 without a session. */
static inline int pe_tls_peer_certificate(void *session_pointer, int verify, unsigned int *status)
{
    *status = 0;
    if (session_pointer == NULL) return -1000;
    gnutls_session_t session = (gnutls_session_t)session_pointer;
    unsigned int count = 0;
    const gnutls_datum_t *certificates = gnutls_certificate_get_peers(session, &count);
    if (certificates == NULL || count == 0) return 1;
    if (!verify) return 0;
    gnutls_typed_vdata_st purpose[1];
    memset(purpose, 0, sizeof purpose);
    purpose[0].type = GNUTLS_DT_KEY_PURPOSE_OID;
    purpose[0].data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT;
    int result = gnutls_certificate_verify_peers(session, purpose, 1, status);
    if (result < 0) return result;
    return *status == 0 ? 0 : 2;
}

/* Writes why a certificate was not valid (from `pe_tls_peer_certificate`'s status) into `out`. */
static inline void pe_tls_status_text(unsigned int status, char *out, size_t capacity)
{
    if (capacity == 0) return;
    out[0] = 0;
    gnutls_datum_t text = { NULL, 0 };
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) < 0 || text.data == NULL) return;
    size_t length = text.size < capacity - 1 ? text.size : capacity - 1;
    memcpy(out, text.data, length);
    out[length] = 0;
    gnutls_free(text.data);
}

/* SHA-256 of `length` bytes into `digest` (32 bytes); 0 on success. */
static inline int pe_sha256(const void *bytes, size_t length, unsigned char *digest)
{
    return gnutls_hash_fast(GNUTLS_DIG_SHA256, bytes, length, digest);
}

#endif
