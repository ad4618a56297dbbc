/* libslirp from Debian's libslirp-dev. Declared without pkg-config: slirp.pc
   requires glib-2.0, which the header itself does not need. */
#include <slirp/libslirp.h>
