/*
 * The tables and columns the built-in profile requires (SPEC §5), taken
 * from the real services: for mobius_chat what the Chat storage code
 * writes (ananthlk/mobius-chat app/storage/threads.py, turns.py and the
 * chat_state upsert), for mobius_rag what the RAG ORM maps
 * (ananthlk/Mobius-RAG app/models.py), since loading an entity selects
 * every mapped column.  docs/profile.md documents the same lists.
 */
#include <stddef.h>
#include <string.h>

#include "profile.h"

static const char *const chat_threads[] = {
	"thread_id", "created_at", "updated_at", NULL
};
static const char *const chat_turns[] = {
	"correlation_id", "question", "thinking_log", "final_message",
	"sources", "duration_ms", "model_used", "llm_provider", "session_id",
	"thread_id", "plan_snapshot", "blueprint_snapshot", "agent_cards",
	"source_confidence_strip", "config_sha", "context_summary", "user_id",
	NULL
};
static const char *const chat_turn_messages[] = {
	"turn_id", "thread_id", "role", "content", "created_at", NULL
};
static const char *const chat_state[] = {
	"thread_id", "state_json", "state_version", "updated_at", NULL
};
static const char *const chunking_jobs[] = {
	"id", "document_id", "status", "threshold", "worker_id", "started_at",
	"completed_at", "error_message", "created_at", "updated_at",
	"failure_count", "failure_reason", "prompt_versions",
	"llm_config_version", "critique_enabled", "max_retries",
	"extraction_enabled", "generator_id", "skip_embedding", "priority",
	"chunking_config_snapshot", NULL
};
static const char *const chunking_results[] = {
	"id", "document_id", "metadata", "results", "created_at", "updated_at",
	NULL
};
static const char *const documents[] = {
	"id", "filename", "display_name", "file_hash", "file_path", "payer",
	"state", "program", "authority_level", "effective_date",
	"termination_date", "status", "has_errors", "error_count",
	"critical_error_count", "review_status", "source_metadata",
	"created_at", "expires_at", NULL
};
static const char *const document_pages[] = {
	"id", "document_id", "page_number", "text", "text_markdown",
	"extraction_status", "extraction_error", "text_length", "created_at",
	"source_url", NULL
};
static const char *const hierarchical_chunks[] = {
	"id", "document_id", "page_number", "paragraph_index", "section_path",
	"chapter_path", "text", "text_length", "start_offset_in_page",
	"summary", "is_eligibility_related", "classification_confidence",
	"classification_reasoning", "extraction_status", "critique_status",
	"critique_feedback", "retry_count", "created_at", NULL
};
static const char *const extracted_facts[] = {
	"id", "hierarchical_chunk_id", "document_id", "fact_text", "fact_type",
	"who_eligible", "how_verified", "conflict_resolution", "when_applies",
	"limitations", "is_verified", "is_eligibility_related",
	"is_pertinent_to_claims_or_members", "confidence",
	"contacting_marketing_members_score",
	"contacting_marketing_members_direction",
	"member_eligibility_molina_score", "member_eligibility_molina_direction",
	"benefit_access_limitations_score",
	"benefit_access_limitations_direction",
	"prior_authorization_required_score",
	"prior_authorization_required_direction",
	"claims_authorization_submissions_score",
	"claims_authorization_submissions_direction",
	"compliant_claim_requirements_score",
	"compliant_claim_requirements_direction", "claim_disputes_score",
	"claim_disputes_direction", "credentialing_score",
	"credentialing_direction", "claim_submission_important_score",
	"claim_submission_important_direction",
	"coordination_of_benefits_score", "coordination_of_benefits_direction",
	"other_important_score", "other_important_direction", "page_number",
	"start_offset", "end_offset", "verified_by", "verified_at",
	"verification_status", "created_at", NULL
};
static const char *const embedding_jobs[] = {
	"id", "document_id", "status", "worker_id", "started_at",
	"completed_at", "error_message", "embedding_config_version",
	"created_at", "updated_at", "generator_id", NULL
};
static const char *const chunk_embeddings[] = {
	"id", "document_id", "source_type", "source_id", "embedding", "model",
	"created_at", "generator_id", NULL
};

/* Which database check requires which table.  Beyond SPEC §1's worker
 * map, two facts of the RAG code decide (docs/profile.md cites them):
 * the chunking worker enqueues an EmbeddingJob when a document is done
 * (app/worker/db.py enqueue_embedding_job), and the embedding worker
 * loads HierarchicalChunk and ExtractedFact entities
 * (app/embedding_worker.py). */
static const struct pf_profile_table tables[] = {
	{ PF_PROFILE_CHAT, "chat_threads", chat_threads },
	{ PF_PROFILE_CHAT, "chat_turns", chat_turns },
	{ PF_PROFILE_CHAT, "chat_turn_messages", chat_turn_messages },
	{ PF_PROFILE_CHAT, "chat_state", chat_state },
	{ PF_PROFILE_RAG_CHUNKING, "chunking_jobs", chunking_jobs },
	{ PF_PROFILE_RAG_CHUNKING, "chunking_results", chunking_results },
	{ PF_PROFILE_RAG_CHUNKING, "documents", documents },
	{ PF_PROFILE_RAG_CHUNKING, "document_pages", document_pages },
	{ PF_PROFILE_RAG_CHUNKING, "hierarchical_chunks", hierarchical_chunks },
	{ PF_PROFILE_RAG_CHUNKING, "extracted_facts", extracted_facts },
	{ PF_PROFILE_RAG_CHUNKING, "embedding_jobs", embedding_jobs },
	{ PF_PROFILE_RAG_EMBEDDING, "embedding_jobs", embedding_jobs },
	{ PF_PROFILE_RAG_EMBEDDING, "chunk_embeddings", chunk_embeddings },
	{ PF_PROFILE_RAG_EMBEDDING, "hierarchical_chunks", hierarchical_chunks },
	{ PF_PROFILE_RAG_EMBEDDING, "extracted_facts", extracted_facts },
};

const struct pf_profile_table *pf_profile_tables(size_t *n)
{
	*n = sizeof tables / sizeof tables[0];
	return tables;
}
