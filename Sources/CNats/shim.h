// The NATS C client (Debian: libnats-dev 3.4) for JetStream as an event source. Nothing is added to
// its API; the header is included as it is.
#ifndef PROGRESS_EXPORTER_CNATS_SHIM_H
#define PROGRESS_EXPORTER_CNATS_SHIM_H

#include <nats/nats.h>

#endif
