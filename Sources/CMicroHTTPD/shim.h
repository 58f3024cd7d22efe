#ifndef PROGRESS_EXPORTER_CMICROHTTPD_SHIM_H
#define PROGRESS_EXPORTER_CMICROHTTPD_SHIM_H
#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include <string.h>
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <microhttpd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/* Swift does not import C variadic functions, so the two MHD calls that take
   varargs get fixed-signature wrappers here. */

/* Leaves the URL and its arguments as sent (MHD decodes "%HH" in place otherwise): the router
   splits the path on '/' before decoding each segment, so "%2F" stays inside a job id, and the
   arguments are decoded in Swift. Returns the length unchanged. */
static size_t pe_mhd_keep_escaped(void *cls, struct MHD_Connection *connection, char *s)
{
    (void)cls;
    (void)connection;
    return strlen(s);
}

/* Starts a daemon on an already listening socket, so the caller binds it and can
   report the real errno (MHD_start_daemon only returns NULL). `accept_policy` sees each
   accepted connection before MHD serves it (MHD_NO closes it); `notify_connection` hears
   of each connection's start and close. */
static inline struct MHD_Daemon *pe_mhd_start_daemon(
    unsigned int flags,
    MHD_socket listen_fd,
    unsigned int thread_pool_size,
    unsigned int connection_timeout_seconds,
    unsigned int connection_limit,
    MHD_AcceptPolicyCallback accept_policy,
    void *accept_policy_cls,
    MHD_AccessHandlerCallback access_handler,
    void *access_handler_cls,
    MHD_RequestCompletedCallback completed,
    void *completed_cls,
    MHD_NotifyConnectionCallback notify_connection,
    void *notify_connection_cls,
    const char *tls_cert_pem,
    const char *tls_key_pem,
    const char *tls_trust_pem,
    const char *tls_priorities)
{
    /* TLS when `tls_cert_pem` is set: the certificate chain and key (PEM), optionally the CAs that
       client certificates are checked against (MHD then asks clients for a certificate), and the
       GnuTLS priority string. MHD reads the PEM strings while it starts. */
    struct MHD_OptionItem tls[5];
    int count = 0;
    if (tls_cert_pem != NULL) {
        flags |= MHD_USE_TLS;
        tls[count++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)tls_cert_pem };
        tls[count++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)tls_key_pem };
        if (tls_trust_pem != NULL) tls[count++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *)tls_trust_pem };
        if (tls_priorities != NULL) tls[count++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)tls_priorities };
    }
    tls[count] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
    return MHD_start_daemon(
        flags, 0, accept_policy, accept_policy_cls, access_handler, access_handler_cls,
        MHD_OPTION_ARRAY, tls,
        MHD_OPTION_LISTEN_SOCKET, listen_fd,
        MHD_OPTION_THREAD_POOL_SIZE, thread_pool_size,
        MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout_seconds,
        MHD_OPTION_CONNECTION_LIMIT, connection_limit,
        MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
        MHD_OPTION_NOTIFY_CONNECTION, notify_connection, notify_connection_cls,
        MHD_OPTION_UNESCAPE_CALLBACK, pe_mhd_keep_escaped, NULL,
        MHD_OPTION_END);
}

/* The socket of a connection, or -1. */
static inline int pe_mhd_connection_fd(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info == NULL ? -1 : info->connect_fd;
}

/* Bytes the kernel has received on a TCP socket (Linux 4.1 and later), or -1. Read from
   TCP_INFO by offset: glibc's struct tcp_info ends before tcpi_bytes_received, and
   <linux/tcp.h>, which has it, clashes with glibc's. The kernel only ever appends fields. */
static inline long long pe_tcp_bytes_received(int fd)
{
#if defined(__linux__)
    unsigned char info[256];
    socklen_t length = sizeof info;
    unsigned long long bytes;
    if (getsockopt(fd, 6 /* IPPROTO_TCP */, 11 /* TCP_INFO */, info, &length) != 0 || length < 136) return -1;
    __builtin_memcpy(&bytes, info + 128, sizeof bytes);
    return (long long)bytes;
#else
    (void)fd;
    return -1;
#endif
}

/* glibc's malloc_trim: hands free heap pages back to the kernel (0 when there were none). */
static inline int pe_malloc_trim(void)
{
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}

/* The GnuTLS session (`gnutls_session_t`) of a TLS connection, or NULL. */
static inline void *pe_mhd_tls_session(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    return info == NULL ? NULL : info->tls_session;
}

/* The peer address of a connection, or NULL. */
static inline const struct sockaddr *pe_mhd_client_address(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info == NULL ? NULL : info->client_addr;
}

#endif
