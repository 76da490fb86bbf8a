import { describe, expect, it } from 'vitest';
import { ApiError } from '../../api/client';
import { checkCreateForm, fieldErrorOf, fieldSentence } from './fieldErrors';

describe('fieldErrorOf', () => {
  it('places a validation error beside a field this form has', () => {
    const err = new ApiError('validation', 'The input field "name" is invalid: Give the project a name.', 'name');
    expect(fieldErrorOf(err, ['name', 'parentDir'])).toEqual({ name: 'Give the project a name.' });
  });
  it('leaves other errors to a notification', () => {
    expect(fieldErrorOf(new ApiError('read-only', 'Cannot write.'), ['name'])).toBeNull();
    expect(fieldErrorOf(new ApiError('validation', 'Bad.', 'other'), ['name'])).toBeNull();
    expect(fieldErrorOf(new Error('boom'), ['name'])).toBeNull();
  });
  it('keeps a message that is already a plain sentence', () => {
    expect(fieldSentence('A project with this name already exists.')).toBe('A project with this name already exists.');
  });
});

describe('checkCreateForm', () => {
  it('uses the contract rules for the name and requires a folder', () => {
    expect(checkCreateForm('  ', '')).toEqual({ name: 'Give the project a name.', parentDir: 'Choose a folder for the project.' });
    expect(checkCreateForm('a/b', '/x').name).toMatch(/cannot contain/);
    expect(checkCreateForm('Skin lesions', '/x')).toEqual({});
  });
});
