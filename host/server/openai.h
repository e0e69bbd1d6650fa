/* OpenAI response bodies: completions, chat completions, their streamed
 * chunks ("data: {...}\n\n") and the usage block. */
#ifndef BITNET_SERVER_OPENAI_H
#define BITNET_SERVER_OPENAI_H

#include "job.h"

/* The non-streamed body of a finished job with its whole text. NULL only
 * when out of memory. */
char *srv_oai_response(const srv_job *j, const char *model, const char *text, size_t len);
/* Append one SSE event of a streamed job: a text delta (chat: role_first
 * adds the assistant role), or the last choice with finish set. */
int srv_oai_chunk(const srv_job *j, const char *model, int role_first, const char *text, size_t len,
                  const char *finish, bn_text *out);
/* The usage event of stream_options.include_usage (empty choices). */
int srv_oai_usage_chunk(const srv_job *j, const char *model, bn_text *out);
/* "data: <json>\n\n" of an error raised mid-stream, then nothing more. */
int srv_oai_stream_error(const srv_error *e, bn_text *out);
/* The finish_reason a job reports: "stop" or "length". */
const char *srv_oai_finish(srv_finish f);

#endif
