DROP INDEX raffles_empty_unpublished;
