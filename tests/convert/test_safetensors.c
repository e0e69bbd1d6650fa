/* The safetensors reader: a valid file parses; every malformed header or
 * inconsistent entry is refused with a message, never read out of bounds. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "convert/safetensors.h"

/* header JSON + `data_len` bytes of data -> file image */
static unsigned char *image(const char *json, size_t data_len, size_t *size) {
    size_t h = strlen(json);
    *size = 8 + h + data_len;
    unsigned char *b = calloc(1, *size);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, json, h);
    for (size_t i = 0; i < data_len; i++)
        b[8 + h + i] = (unsigned char)i;
    return b;
}

/* The set points into the image: the caller frees *img after closing. */
static bn_status parse(const char *json, size_t data_len, bn_st_set **out, unsigned char **img) {
    size_t n;
    *img = image(json, data_len, &n);
    return bn_st_open_memory(*img, n, "test", out);
}

START_TEST(valid) {
    bn_st_set *s;
    unsigned char *img;
    ck_assert_msg(parse("{\"__metadata__\":{\"format\":\"pt\"},"
                        "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                        "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]},"
                        "\"c\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[32,33]}}",
                        33, &s, &img) == BN_OK,
                  "%s", bn_last_error());
    ck_assert_uint_eq(bn_st_count(s), 3);
    const bn_st_tensor *a = bn_st_find(s, "a");
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->dtype, BN_ST_F32);
    ck_assert_int_eq(a->n_dims, 2);
    ck_assert_int_eq(a->shape[1], 3);
    ck_assert_uint_eq(a->size, 24);
    ck_assert_int_eq(bn_st_find(s, "c")->n_elems, 1);
    ck_assert_int_eq(((const unsigned char *)bn_st_find(s, "b")->data)[0], 24);
    bn_st_close(s);
    free(img);
}
END_TEST

static void refused(const char *json, size_t data_len, const char *needle) {
    bn_st_set *s = NULL;
    unsigned char *img;
    bn_status st = parse(json, data_len, &s, &img);
    free(img);
    ck_assert_msg(st != BN_OK, "accepted: %s", json);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(bn_last_error(), needle), "message '%s' lacks '%s'", bn_last_error(), needle);
}

START_TEST(malformed) {
    refused("not json", 0, "not a JSON object");
    refused("[1,2]", 0, "not a JSON object");
    refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "lacks dtype, shape or data_offsets");
    refused("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unsupported dtype 'Q4'");
    refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "need 12");
    refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "outside the data section");
    refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "outside the data section");
    refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "bad shape");
    refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", 8, "bad shape");
    refused("{\"a\":{\"dtype\":\"U8\",\"shape\":[1000000000000000,1000000000000000],\"data_offsets\":[0,8]}}", 8,
            "overflows");
    refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
            12, "overlap");
    refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
            8, "appears twice");
    refused("{\"a\":5}", 0, "not an object");
}
END_TEST

/* A header with no tensors is valid (and once tripped UBSan on a NULL
 * table; found by the fuzzer). */
START_TEST(empty_header) {
    bn_st_set *s;
    unsigned char *img;
    ck_assert_int_eq(parse("{\"__metadata__\":{}}", 0, &s, &img), BN_OK);
    ck_assert_uint_eq(bn_st_count(s), 0);
    bn_st_close(s);
    free(img);
    ck_assert_int_eq(parse("{}", 0, &s, &img), BN_OK);
    bn_st_close(s);
    free(img);
}
END_TEST

START_TEST(bad_lengths) {
    unsigned char tiny[4] = {0};
    bn_st_set *s;
    ck_assert_int_ne(bn_st_open_memory(tiny, sizeof tiny, "t", &s), BN_OK);
    unsigned char huge[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    ck_assert_int_ne(bn_st_open_memory(huge, sizeof huge, "t", &s), BN_OK);
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "header length"));
    /* truncation at every length of a valid file fails cleanly */
    size_t n;
    unsigned char *b = image("{\"a\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}}", 8, &n);
    for (size_t len = 0; len < n; len++) {
        ck_assert_int_ne(bn_st_open_memory(b, len, "t", &s), BN_OK);
        ck_assert_ptr_null(s);
    }
    ck_assert_int_eq(bn_st_open_memory(b, n, "t", &s), BN_OK);
    bn_st_close(s);
    free(b);
}
END_TEST

START_TEST(missing_files) {
    bn_st_set *s;
    ck_assert_int_eq(bn_st_open_dir("/nonexistent-dir", &s), BN_ERR_NOT_FOUND);
    ck_assert_int_eq(bn_st_open_dir("/", &s), BN_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "no *.safetensors"));
}
END_TEST

int main(void) {
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("safetensors");
    tcase_add_test(tc, valid);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, bad_lengths);
    tcase_add_test(tc, empty_header);
    tcase_add_test(tc, missing_files);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
