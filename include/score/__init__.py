"""The batch scoring pipeline: plan, chunked scoring with quarantine, atomic publish, records."""
