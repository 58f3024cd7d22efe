#ifndef PROGRESS_EXPORTER_CMICROHTTPD_SHIM_H
#define PROGRESS_EXPORTER_CMICROHTTPD_SHIM_H
#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <microhttpd.h>

/* Swift does not import C variadic functions, so the two MHD calls that take
   varargs get fixed-signature wrappers here. */

/* Starts a daemon on an already listening socket, so the caller binds it and can
   report the real errno (MHD_start_daemon only returns NULL). */
static inline struct MHD_Daemon *pe_mhd_start_daemon(
    unsigned int flags,
    MHD_socket listen_fd,
    unsigned int thread_pool_size,
    unsigned int connection_timeout_seconds,
    MHD_AccessHandlerCallback access_handler,
    void *access_handler_cls,
    MHD_RequestCompletedCallback completed,
    void *completed_cls)
{
    return MHD_start_daemon(
        flags, 0, NULL, NULL, access_handler, access_handler_cls,
        MHD_OPTION_LISTEN_SOCKET, listen_fd,
        MHD_OPTION_THREAD_POOL_SIZE, thread_pool_size,
        MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout_seconds,
        MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
        MHD_OPTION_END);
}

/* The peer address of a connection, or NULL. */
static inline const struct sockaddr *pe_mhd_client_address(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info == NULL ? NULL : info->client_addr;
}

#endif
