"""The onboarding form: drafts, sections, the letter, the form PDF, submit and withdraw."""
