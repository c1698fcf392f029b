DROP INDEX topic_field_leads_land;
DROP INDEX project_platforms_platform;
DROP INDEX ozg_services_life_situation;
DROP INDEX newsletter_definitions_topic_field;
DROP INDEX issued_tokens_organisation;
DROP INDEX events_organiser;
DROP INDEX events_location;
DROP INDEX calls_issuer;
