/* What Swift cannot do comfortably over BearSSL: the core's insecure X.509 class (a C
   vtable), PEM decoding into X509List/PrivateKey, and setting up a client or server
   engine with the core's cipher suites. Buffers and contexts here are host memory; the
   emulated heap is charged by the Swift model at the ESP8266 sizes. */
#ifndef CBR_SHIM_H
#define CBR_SHIM_H

#include <bearssl.h>
#include <stddef.h>
#include <stdint.h>

/* An X509List (BearSSLHelpers.cpp): the certificates of a PEM text, as DER and as trust anchors. */
typedef struct cbr_x509_list {
    br_x509_certificate *certs;
    br_x509_trust_anchor *anchors;
    size_t count;
    /* bytes the core's X509List holds on the heap for these (DER, DN and key copies) */
    size_t content_bytes;
} cbr_x509_list;

/* NULL when the text holds no certificate that decodes. */
cbr_x509_list *cbr_x509_list_from_pem(const char *pem, size_t len);
void cbr_x509_list_free(cbr_x509_list *list);

/* A private key (RSA or EC) from PEM; NULL when none decodes. */
typedef struct cbr_private_key cbr_private_key;
cbr_private_key *cbr_private_key_from_pem(const char *pem, size_t len);
void cbr_private_key_free(cbr_private_key *key);

/* One client connection's BearSSL state (WiFiClientSecureCtx::_connectSSL). */
typedef struct cbr_client cbr_client;

/* How the server's certificate is checked (WiFiClientSecureCtx::_installClientX509Validator). */
enum {
    CBR_VERIFY_INSECURE = 0,    /* setInsecure(): the core's br_x509_insecure, nothing checked */
    CBR_VERIFY_FINGERPRINT = 1, /* setFingerprint(): the insecure class with the SHA-1 match */
    CBR_VERIFY_ANCHORS = 2,     /* setTrustAnchors() (or nothing set): br_x509_minimal */
};

/* The core's br_ssl_client_base_init with its suites_P, the validator, buffers of
   in_size/out_size, versions TLS 1.0-1.2, then br_ssl_client_reset(host). NULL if the
   reset fails. `days`/`seconds`: the X.509 validation time (0, 0: the host's clock). */
cbr_client *cbr_client_new(size_t in_size, size_t out_size, int verify, const uint8_t fingerprint[20],
                           const cbr_x509_list *anchors, uint32_t days, uint32_t seconds, const char *host);
br_ssl_engine_context *cbr_client_engine(cbr_client *c);
void cbr_client_free(cbr_client *c);
/* The core's suites_P as the probe's ClientHello lists them (count of uint16_t). */
size_t cbr_client_suites(const uint16_t **suites);

/* A world service's server engine (br_ssl_server_init_full_rsa/_ec), full-size buffers. */
typedef struct cbr_server cbr_server;
cbr_server *cbr_server_new(const cbr_x509_list *chain, const cbr_private_key *key);
br_ssl_engine_context *cbr_server_engine(cbr_server *s);
void cbr_server_free(cbr_server *s);

/* br_ssl_engine_last_error (static inline in the header). */
int cbr_engine_last_error(const br_ssl_engine_context *eng);

#endif
