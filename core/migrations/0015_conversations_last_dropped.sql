-- Schema 15: conversations_last is dropped.
--
-- No query reads it: lists order conversations by an expression of
-- last_message_at (conversations._ORDER), which an index on the column does
-- not serve, and nothing looks a conversation up by its last message time.
-- Every message in or out sets last_message_at, so each one moved the
-- conversation's entry in the index: a page more written by each inbound
-- group (issue #9: webhook MO throughput) and by each send, for nothing.
DROP INDEX conversations_last;
