/* The web chat page `bitnet serve` answers GET / with (text/html;
 * charset=utf-8): host/server/page/chat.html, compiled into the binary at
 * build time by cmake/EmbedFile.cmake (a generated page_html.c in the build
 * tree; editing chat.html rebuilds it). The page is self-contained (inline
 * CSS and JS, nothing fetched from elsewhere) and uses only /v1/models and
 * /v1/chat/completions with "stream": true. */
#ifndef BITNET_SERVER_PAGE_H
#define BITNET_SERVER_PAGE_H

/* The file's bytes, followed by one 0 byte that srv_page_html_len does not
 * count (so it is also a C string). */
extern const unsigned char srv_page_html[];
extern const unsigned long srv_page_html_len;

#endif
