DROP TABLE newsletter_subscribers;
DROP TABLE newsletter_editions;
DROP TABLE newsletter_definitions;
