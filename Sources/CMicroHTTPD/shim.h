#ifndef PROGRESS_EXPORTER_CMICROHTTPD_SHIM_H
#define PROGRESS_EXPORTER_CMICROHTTPD_SHIM_H
#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <microhttpd.h>
#endif
