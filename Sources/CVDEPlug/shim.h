// vdeplug4 (Debian libvdeplug-dev): the virtual Ethernet of QEMU and User-Mode Linux.
// vde_open is a macro; Swift calls vde_open_real with LIBVDEPLUG_INTERFACE_VERSION.
#include <libvdeplug.h>
