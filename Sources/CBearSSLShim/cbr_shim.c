/* See cbr_shim.h. Line numbers are of the ESP8266 core's
   libraries/ESP8266WiFi/src/WiFiClientSecureBearSSL.cpp and BearSSLHelpers.cpp. */
#include "cbr_shim.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* MARK: PEM */

typedef struct {
    unsigned char *data;
    size_t len, cap;
} cbr_bytes;

static void bytes_append(void *ctx, const void *buf, size_t len) {
    cbr_bytes *b = ctx;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + len) cap *= 2;
        unsigned char *p = realloc(b->data, cap);
        if (!p) return;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, buf, len);
    b->len += len;
}

/* Calls `object(name, der, ctx)` for each PEM object of the text (as BearSSL's
   tools/files.c reads PEM); -1 on a malformed text. */
static int pem_each(const char *pem, size_t len, void (*object)(const char *, cbr_bytes *, void *), void *ctx) {
    br_pem_decoder_context pc;
    br_pem_decoder_init(&pc);
    cbr_bytes der = {0};
    char name[128] = {0};
    int inside = 0, count = 0, tail = 0;
    size_t u = 0;
    for (;;) {
        if (u >= len) {
            if (tail) break;
            /* the decoder wants the text to end with a newline */
            pem = "\n";
            len = 1;
            u = 0;
            tail = 1;
        }
        u += br_pem_decoder_push(&pc, pem + u, len - u);
        switch (br_pem_decoder_event(&pc)) {
        case BR_PEM_BEGIN_OBJ:
            strncpy(name, br_pem_decoder_name(&pc), sizeof name - 1);
            der.len = 0;
            inside = 1;
            br_pem_decoder_setdest(&pc, bytes_append, &der);
            break;
        case BR_PEM_END_OBJ:
            if (inside) {
                object(name, &der, ctx);
                count++;
            }
            inside = 0;
            break;
        case BR_PEM_ERROR:
            free(der.data);
            return -1;
        default:
            break;
        }
    }
    free(der.data);
    return count;
}

/* MARK: X509List */

static void free_anchor(br_x509_trust_anchor *ta) {
    free(ta->dn.data);
    if (ta->pkey.key_type == BR_KEYTYPE_RSA) {
        free(ta->pkey.key.rsa.n);
        free(ta->pkey.key.rsa.e);
    } else if (ta->pkey.key_type == BR_KEYTYPE_EC) {
        free(ta->pkey.key.ec.q);
    }
}

/* certificate_to_trust_anchor_inner (BearSSLHelpers.cpp:111-169) */
static bool to_anchor(br_x509_trust_anchor *ta, const br_x509_certificate *xc, size_t *bytes) {
    br_x509_decoder_context dc;
    cbr_bytes dn = {0};
    memset(ta, 0, sizeof *ta);
    br_x509_decoder_init(&dc, bytes_append, &dn);
    br_x509_decoder_push(&dc, xc->data, xc->data_len);
    br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
    if (!pk) {
        free(dn.data);
        return false;
    }
    ta->dn.data = dn.data;
    ta->dn.len = dn.len;
    *bytes += dn.len;
    ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
    switch (pk->key_type) {
    case BR_KEYTYPE_RSA:
        ta->pkey.key_type = BR_KEYTYPE_RSA;
        ta->pkey.key.rsa.n = malloc(pk->key.rsa.nlen);
        ta->pkey.key.rsa.e = malloc(pk->key.rsa.elen);
        memcpy(ta->pkey.key.rsa.n, pk->key.rsa.n, pk->key.rsa.nlen);
        memcpy(ta->pkey.key.rsa.e, pk->key.rsa.e, pk->key.rsa.elen);
        ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
        ta->pkey.key.rsa.elen = pk->key.rsa.elen;
        *bytes += pk->key.rsa.nlen + pk->key.rsa.elen;
        return true;
    case BR_KEYTYPE_EC:
        ta->pkey.key_type = BR_KEYTYPE_EC;
        ta->pkey.key.ec.curve = pk->key.ec.curve;
        ta->pkey.key.ec.q = malloc(pk->key.ec.qlen);
        memcpy(ta->pkey.key.ec.q, pk->key.ec.q, pk->key.ec.qlen);
        ta->pkey.key.ec.qlen = pk->key.ec.qlen;
        *bytes += pk->key.ec.qlen;
        return true;
    default:
        free_anchor(ta);
        return false;
    }
}

static void add_certificate(const char *name, cbr_bytes *der, void *ctx) {
    cbr_x509_list *list = ctx;
    if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CERTIFICATE") != 0) return;
    br_x509_certificate *certs = realloc(list->certs, (list->count + 1) * sizeof *certs);
    br_x509_trust_anchor *anchors = realloc(list->anchors, (list->count + 1) * sizeof *anchors);
    if (certs) list->certs = certs;
    if (anchors) list->anchors = anchors;
    if (!certs || !anchors) return;
    unsigned char *copy = malloc(der->len);
    memcpy(copy, der->data, der->len);
    br_x509_certificate xc = {copy, der->len};
    size_t bytes = der->len;
    if (!to_anchor(&list->anchors[list->count], &xc, &bytes)) {
        free(copy);
        return;
    }
    list->certs[list->count] = xc;
    list->content_bytes += bytes;
    list->count++;
}

cbr_x509_list *cbr_x509_list_from_pem(const char *pem, size_t len) {
    cbr_x509_list *list = calloc(1, sizeof *list);
    if (pem_each(pem, len, add_certificate, list) < 0 || list->count == 0) {
        cbr_x509_list_free(list);
        return NULL;
    }
    return list;
}

void cbr_x509_list_free(cbr_x509_list *list) {
    if (!list) return;
    for (size_t i = 0; i < list->count; i++) {
        free(list->certs[i].data);
        free_anchor(&list->anchors[i]);
    }
    free(list->certs);
    free(list->anchors);
    free(list);
}

/* MARK: PrivateKey */

struct cbr_private_key {
    br_skey_decoder_context dc; /* holds the key bytes the rsa/ec structs point to */
    int type;
};

static void add_key(const char *name, cbr_bytes *der, void *ctx) {
    cbr_private_key *key = ctx;
    if (key->type) return;
    if (!strstr(name, "PRIVATE KEY")) return;
    br_skey_decoder_init(&key->dc);
    br_skey_decoder_push(&key->dc, der->data, der->len);
    if (br_skey_decoder_last_error(&key->dc) == 0) key->type = br_skey_decoder_key_type(&key->dc);
}

cbr_private_key *cbr_private_key_from_pem(const char *pem, size_t len) {
    cbr_private_key *key = calloc(1, sizeof *key);
    if (pem_each(pem, len, add_key, key) < 0 || key->type == 0) {
        free(key);
        return NULL;
    }
    return key;
}

void cbr_private_key_free(cbr_private_key *key) { free(key); }

/* MARK: the core's insecure X.509 class (WiFiClientSecureBearSSL.cpp:665-805) */

typedef struct {
    const br_x509_class *vtable;
    bool done_cert;
    const uint8_t *match_fingerprint;
    br_sha1_context sha1_cert;
    bool allow_self_signed;
    br_sha256_context sha256_subject;
    br_sha256_context sha256_issuer;
    br_x509_decoder_context ctx;
} insecure_context;

static void insecure_subject_dn_append(void *ctx, const void *buf, size_t len) {
    br_sha256_update(&((insecure_context *)ctx)->sha256_subject, buf, len);
}

static void insecure_start_chain(const br_x509_class **ctx, const char *server_name) {
    insecure_context *xc = (insecure_context *)ctx;
    /* the core's BearSSL fork also hands the issuer DN to a callback; BearSSL 0.6 has only
       the subject's, so allow_self_signed (never set here) cannot compare them */
    br_x509_decoder_init(&xc->ctx, insecure_subject_dn_append, xc);
    xc->done_cert = false;
    br_sha1_init(&xc->sha1_cert);
    br_sha256_init(&xc->sha256_subject);
    br_sha256_init(&xc->sha256_issuer);
    (void)server_name;
}

static void insecure_start_cert(const br_x509_class **ctx, uint32_t length) {
    (void)ctx;
    (void)length;
}

static void insecure_append(const br_x509_class **ctx, const unsigned char *buf, size_t len) {
    insecure_context *xc = (insecure_context *)ctx;
    if (!xc->done_cert) {
        br_sha1_update(&xc->sha1_cert, buf, len);
        br_x509_decoder_push(&xc->ctx, buf, len);
    }
}

static void insecure_end_cert(const br_x509_class **ctx) { ((insecure_context *)ctx)->done_cert = true; }

static unsigned insecure_end_chain(const br_x509_class **ctx) {
    const insecure_context *xc = (const insecure_context *)ctx;
    if (!xc->done_cert) return 1;
    unsigned char res[20];
    br_sha1_out(&xc->sha1_cert, res);
    if (xc->match_fingerprint && memcmp(res, xc->match_fingerprint, sizeof res)) return BR_ERR_X509_NOT_TRUSTED;
    unsigned char res_issuer[32], res_subject[32];
    br_sha256_out(&xc->sha256_issuer, res_issuer);
    br_sha256_out(&xc->sha256_subject, res_subject);
    if (xc->allow_self_signed && memcmp(res_subject, res_issuer, sizeof res_issuer)) return BR_ERR_X509_NOT_TRUSTED;
    return 0;
}

static const br_x509_pkey *insecure_get_pkey(const br_x509_class *const *ctx, unsigned *usages) {
    const insecure_context *xc = (const insecure_context *)ctx;
    if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
    return &xc->ctx.pkey;
}

static const br_x509_class insecure_vtable = {
    sizeof(insecure_context), insecure_start_chain, insecure_start_cert, insecure_append,
    insecure_end_cert,        insecure_end_chain,   insecure_get_pkey,
};

/* MARK: client */

/* suites_P (WiFiClientSecureBearSSL.cpp:828-881), the full profile */
static const uint16_t suites[] = {
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,       BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,       BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_CCM,              BR_TLS_ECDHE_ECDSA_WITH_AES_256_CCM,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,            BR_TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,       BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,       BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,          BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,          BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
    BR_TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256,        BR_TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384,        BR_TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256,        BR_TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256,
    BR_TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384,        BR_TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384,
    BR_TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA,           BR_TLS_ECDH_RSA_WITH_AES_128_CBC_SHA,
    BR_TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA,           BR_TLS_ECDH_RSA_WITH_AES_256_CBC_SHA,
    BR_TLS_RSA_WITH_AES_128_GCM_SHA256,               BR_TLS_RSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_RSA_WITH_AES_128_CCM,                      BR_TLS_RSA_WITH_AES_256_CCM,
    BR_TLS_RSA_WITH_AES_128_CCM_8,                    BR_TLS_RSA_WITH_AES_256_CCM_8,
    BR_TLS_RSA_WITH_AES_128_CBC_SHA256,               BR_TLS_RSA_WITH_AES_256_CBC_SHA256,
    BR_TLS_RSA_WITH_AES_128_CBC_SHA,                  BR_TLS_RSA_WITH_AES_256_CBC_SHA,
    BR_TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA,         BR_TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
    BR_TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA,          BR_TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA,
    BR_TLS_RSA_WITH_3DES_EDE_CBC_SHA,
};

size_t cbr_client_suites(const uint16_t **out) {
    *out = suites;
    return sizeof suites / sizeof suites[0];
}

/* br_ssl_client_install_hashes (cpp:941-948) */
static void install_hashes(br_ssl_engine_context *eng) {
    br_ssl_engine_set_hash(eng, br_md5_ID, &br_md5_vtable);
    br_ssl_engine_set_hash(eng, br_sha1_ID, &br_sha1_vtable);
    br_ssl_engine_set_hash(eng, br_sha224_ID, &br_sha224_vtable);
    br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable);
    br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
    br_ssl_engine_set_hash(eng, br_sha512_ID, &br_sha512_vtable);
}

struct cbr_client {
    br_ssl_client_context sc;
    br_x509_minimal_context minimal;
    insecure_context insecure;
    uint8_t fingerprint[20];
    unsigned char *in, *out;
};

cbr_client *cbr_client_new(size_t in_size, size_t out_size, int verify, const uint8_t fingerprint[20],
                           const cbr_x509_list *anchors, uint32_t days, uint32_t seconds, const char *host) {
    cbr_client *c = calloc(1, sizeof *c);
    c->in = malloc(in_size);
    c->out = malloc(out_size);
    br_ssl_client_context *cc = &c->sc;
    /* br_ssl_client_base_init (cpp:959-987) */
    br_ssl_client_zero(cc);
    br_ssl_engine_add_flags(&cc->eng, BR_OPT_NO_RENEGOTIATION);
    br_ssl_engine_set_versions(&cc->eng, BR_TLS10, BR_TLS12);
    br_ssl_engine_set_suites(&cc->eng, suites, sizeof suites / sizeof suites[0]);
    br_ssl_client_set_default_rsapub(cc);
    br_ssl_engine_set_default_rsavrfy(&cc->eng);
    br_ssl_engine_set_default_ecdsa(&cc->eng);
    install_hashes(&cc->eng);
    br_ssl_engine_set_prf10(&cc->eng, &br_tls10_prf);
    br_ssl_engine_set_prf_sha256(&cc->eng, &br_tls12_sha256_prf);
    br_ssl_engine_set_prf_sha384(&cc->eng, &br_tls12_sha384_prf);
    br_ssl_engine_set_default_aes_cbc(&cc->eng);
    br_ssl_engine_set_default_aes_gcm(&cc->eng);
    br_ssl_engine_set_default_aes_ccm(&cc->eng);
    br_ssl_engine_set_default_des_cbc(&cc->eng);
    br_ssl_engine_set_default_chapol(&cc->eng);
    /* _installClientX509Validator (cpp:1067-1120) */
    if (verify == CBR_VERIFY_ANCHORS) {
        br_x509_minimal_context *x = &c->minimal;
        br_x509_minimal_init(x, &br_sha256_vtable, anchors ? anchors->anchors : NULL, anchors ? anchors->count : 0);
        br_x509_minimal_set_rsa(x, br_ssl_engine_get_rsavrfy(&cc->eng));
        br_x509_minimal_set_ecdsa(x, br_ssl_engine_get_ec(&cc->eng), br_ssl_engine_get_ecdsa(&cc->eng));
        br_x509_minimal_set_hash(x, br_md5_ID, &br_md5_vtable);
        br_x509_minimal_set_hash(x, br_sha1_ID, &br_sha1_vtable);
        br_x509_minimal_set_hash(x, br_sha224_ID, &br_sha224_vtable);
        br_x509_minimal_set_hash(x, br_sha256_ID, &br_sha256_vtable);
        br_x509_minimal_set_hash(x, br_sha384_ID, &br_sha384_vtable);
        br_x509_minimal_set_hash(x, br_sha512_ID, &br_sha512_vtable);
        if (days || seconds) br_x509_minimal_set_time(x, days, seconds);
        br_ssl_engine_set_x509(&cc->eng, &x->vtable);
    } else {
        memset(&c->insecure, 0, sizeof c->insecure);
        c->insecure.vtable = &insecure_vtable;
        if (verify == CBR_VERIFY_FINGERPRINT && fingerprint) {
            memcpy(c->fingerprint, fingerprint, 20);
            c->insecure.match_fingerprint = c->fingerprint;
        }
        br_ssl_engine_set_x509(&cc->eng, &c->insecure.vtable);
    }
    br_ssl_engine_set_buffers_bidi(&cc->eng, c->in, in_size, c->out, out_size);
    br_ssl_engine_set_versions(&cc->eng, BR_TLS10, BR_TLS12);
    if (!br_ssl_client_reset(cc, host, 0)) {
        cbr_client_free(c);
        return NULL;
    }
    return c;
}

br_ssl_engine_context *cbr_client_engine(cbr_client *c) { return &c->sc.eng; }

void cbr_client_free(cbr_client *c) {
    if (!c) return;
    free(c->in);
    free(c->out);
    free(c);
}

/* MARK: server */

struct cbr_server {
    br_ssl_server_context sc;
    unsigned char buf[BR_SSL_BUFSIZE_BIDI];
};

cbr_server *cbr_server_new(const cbr_x509_list *chain, const cbr_private_key *key) {
    cbr_server *s = calloc(1, sizeof *s);
    if (key->type == BR_KEYTYPE_RSA) {
        br_ssl_server_init_full_rsa(&s->sc, chain->certs, chain->count, br_skey_decoder_get_rsa(&key->dc));
    } else {
        br_ssl_server_init_full_ec(&s->sc, chain->certs, chain->count, BR_KEYTYPE_EC, br_skey_decoder_get_ec(&key->dc));
    }
    br_ssl_engine_set_buffer(&s->sc.eng, s->buf, sizeof s->buf, 1);
    if (!br_ssl_server_reset(&s->sc)) {
        free(s);
        return NULL;
    }
    return s;
}

br_ssl_engine_context *cbr_server_engine(cbr_server *s) { return &s->sc.eng; }

void cbr_server_free(cbr_server *s) { free(s); }

int cbr_engine_last_error(const br_ssl_engine_context *eng) { return br_ssl_engine_last_error(eng); }
