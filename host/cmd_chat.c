/* `bitnet chat`: an interactive conversation using the model's chat
 * template; the KV cache carries the conversation between turns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generate.h"

static int usage(FILE *f, int code) {
    fprintf(f, "usage: bitnet chat [-m MODEL] [options]\n\n"
               "Reads one user message per line from stdin and streams the reply. Ctrl-D ends.\n\noptions:\n"
               "      --system TEXT      a system message first\n" BN_MODEL_OPTS_HELP BN_SAMPLING_OPTS_HELP
                   BN_COMMON_OPTS_HELP "  -h, --help             this text\n");
    return code;
}

int bn_cmd_chat(int argc, char **argv) {
    bn_host_opts o;
    bn_host_opts_init(&o);
    const char *system_msg = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout, 0);
        if (bn_cli_matches(a, NULL, "--system")) {
            if (!(system_msg = bn_cli_value(argc, argv, &i, "--system")))
                return 2;
            continue;
        }
        int r = bn_host_opt(argc, argv, &i, &o);
        if (r < 0)
            return 2;
        if (r == 0) {
            fprintf(stderr, "bitnet chat: unknown option '%s'\n", a);
            return usage(stderr, 2);
        }
    }
    if (bn_sampler_params_check(&o.sp) != BN_OK) {
        bn_cli_error("sampling options");
        return 2;
    }
    bn_host h;
    if (bn_host_open(&o, 1, &h))
        return 1;
    bn_chat_style style = bn_chat_detect(bn_vocab_chat_template(h.vocab));
    fprintf(stderr, "bitnet chat: %s template, context %d. Type a message; Ctrl-D to end.\n", bn_chat_style_name(style),
            bn_model_mem_plan(h.model)->n_ctx);
    bn_session *s = NULL;
    bn_sampler *smp = NULL;
    int rc = 1;
    if (bn_session_create(h.model, &s) != BN_OK || bn_sampler_create(&o.sp, bn_model_hparams(h.model)->n_vocab, &smp) != BN_OK) {
        bn_cli_error("starting the chat");
        goto done;
    }
    char line[8192];
    int32_t pending = -1; /* last sampled token, not yet in the cache */
    int first = 1;
    bn_gen_stats st = {0};
    for (;;) {
        fputs("> ", stderr);
        if (!fgets(line, sizeof line, stdin))
            break;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0])
            continue;
        bn_chat_msg msgs[2];
        size_t n = 0;
        if (first && system_msg)
            msgs[n++] = (bn_chat_msg){"system", system_msg};
        msgs[n++] = (bn_chat_msg){"user", line};
        bn_text text = {0};
        bn_tokens toks = {0};
        /* The reply's last token (usually end-of-turn) joins the cache first. */
        if (pending >= 0 && bn_session_pos(s) < bn_session_n_ctx(s)) {
            if (bn_session_eval(s, &pending, 1, NULL, 0) != BN_OK) {
                bn_cli_error("decoding");
                goto done;
            }
            pending = -1;
        }
        unsigned flags = BN_TOK_PARSE_SPECIAL | (first ? BN_TOK_ADD_SPECIAL : 0);
        if (bn_chat_render(style, msgs, n, 1, &text) != BN_OK ||
            bn_tokenize(h.vocab, text.data, text.len, flags, &toks) != BN_OK) {
            bn_cli_error("rendering the message");
            bn_text_free(&text);
            bn_tokens_free(&toks);
            goto done;
        }
        bn_text_free(&text);
        if (bn_session_pos(s) + (int)toks.n >= bn_session_n_ctx(s)) {
            fprintf(stderr, "bitnet chat: the context is full; start again for a new conversation\n");
            bn_tokens_free(&toks);
            break;
        }
        int r = bn_generate(&h, s, smp, toks.ids, toks.n, o.n_predict, 1, stdout, &pending, &st);
        bn_tokens_free(&toks);
        fputc('\n', stdout);
        first = 0;
        if (r)
            goto done;
    }
    bn_gen_stats_print(stderr, &st);
    rc = 0;
done:
    bn_sampler_free(smp);
    bn_session_free(s);
    bn_host_close(&h);
    return rc;
}
