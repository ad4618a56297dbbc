/* BearSSL from Debian's libbearssl-dev: the TLS engine the ESP8266 core itself uses
   (its fork of BearSSL 0.6). No pkg-config file ships with it. */
#include <bearssl.h>
